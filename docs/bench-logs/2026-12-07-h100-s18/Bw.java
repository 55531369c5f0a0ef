public class Bw {
  public static void main(String[] a) throws Exception {
    int threads = Integer.parseInt(a[0]);
    int mb = 256;
    byte[][] src = new byte[threads][mb << 20], dst = new byte[threads][mb << 20];
    for (int r = 0; r < 6; r++) {
      Thread[] ts = new Thread[threads];
      long t0 = System.nanoTime();
      for (int t = 0; t < threads; t++) { final int k = t; ts[t] = new Thread(() -> { for (int i = 0; i < 4; i++) System.arraycopy(src[k], 0, dst[k], 0, src[k].length); }); ts[t].start(); }
      for (Thread t : ts) t.join();
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("%d threads: copy %.1f GB/s (read+write %.1f GB/s)%n", threads, threads * 4.0 * mb / 1024 / s, 2 * threads * 4.0 * mb / 1024 / s);
    }
  }
}
