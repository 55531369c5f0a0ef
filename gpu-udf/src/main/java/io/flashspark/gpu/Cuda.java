package io.flashspark.gpu;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** Turns CUDA driver return codes into exceptions that name the call and what it was doing. */
final class Cuda {
  private Cuda() {}

  static void check(int result, String call, Object... details) {
    if (result == CUresult.CUDA_SUCCESS) {
      return;
    }
    String[] name = new String[1];
    String errorName = JCudaDriver.cuGetErrorName(result, name) == CUresult.CUDA_SUCCESS && name[0] != null
        ? name[0] : CUresult.stringFor(result);
    StringBuilder msg = new StringBuilder(call).append(" failed: ").append(errorName).append(" (").append(result)
        .append(")");
    if (details.length > 0) {
      msg.append(" [");
      for (int i = 0; i + 1 < details.length; i += 2) {
        msg.append(i == 0 ? "" : ", ").append(details[i]).append('=').append(details[i + 1]);
      }
      msg.append(']');
    }
    throw new GpuException(msg.toString(), isSticky(result));
  }

  /**
   * Faults in a kernel (bad address, illegal instruction, launch failure, timeout, uncorrectable
   * ECC) poison the whole context: CUDA returns the same error from every later call in it.
   */
  static boolean isSticky(int result) {
    switch (result) {
      case CUresult.CUDA_ERROR_ILLEGAL_ADDRESS:
      case CUresult.CUDA_ERROR_LAUNCH_FAILED:
      case CUresult.CUDA_ERROR_LAUNCH_TIMEOUT:
      case CUresult.CUDA_ERROR_HARDWARE_STACK_ERROR:
      case CUresult.CUDA_ERROR_ILLEGAL_INSTRUCTION:
      case CUresult.CUDA_ERROR_MISALIGNED_ADDRESS:
      case CUresult.CUDA_ERROR_INVALID_ADDRESS_SPACE:
      case CUresult.CUDA_ERROR_INVALID_PC:
      case CUresult.CUDA_ERROR_ECC_UNCORRECTABLE:
        return true;
      default:
        return false;
    }
  }
}
