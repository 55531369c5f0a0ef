package io.flashspark.job;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** A process the launcher tests started, and its output lines as they come (echoed to the test log). */
record Launched(Process process, List<String> lines) {
  static Launched start(List<String> command, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
          System.out.println("  | " + line);
        }
      } catch (IOException e) {
        // process gone
      }
    });
    reader.setDaemon(true);
    reader.start();
    return new Launched(p, lines);
  }

  /**
   * TCP ports a process listens on, as "address:port" from /proc/net/tcp{,6} (Linux); none for a
   * process that has ended (a short-lived child listed a moment before, e.g. a worker's discovery
   * script: ClusterIT once failed on its vanished /proc entry).
   */
  static List<String> listening(long pid) throws IOException {
    java.util.Set<String> inodes = new java.util.HashSet<>();
    try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      for (Path fd : fds.collect(Collectors.toList())) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(target.substring(8, target.length() - 1));
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    } catch (java.nio.file.NoSuchFileException e) {
      return List.of(); // the process ended
    }
    List<String> out = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (String line : Files.readAllLines(Path.of(table))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 9 && f[3].equals("0A") && inodes.contains(f[9])) { // 0A: LISTEN
          out.add(f[1]);
        }
      }
    }
    return out;
  }

  /** Hex address of /proc/net/tcp{,6} on the loopback interface (IPv4, or IPv4-mapped / ::1 in IPv6). */
  static boolean loopback(String hexAddressAndPort) {
    String a = hexAddressAndPort.substring(0, hexAddressAndPort.indexOf(':'));
    return a.equals("0100007F") || a.equals("0000000000000000FFFF00000100007F")
        || a.equals("00000000000000000000000001000000");
  }
}
