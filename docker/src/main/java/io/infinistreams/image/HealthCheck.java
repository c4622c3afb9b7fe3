package io.infinistreams.image;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.URI;

/**
 * The container health check of the images (the Jib image has no shell and no curl): {@code java
 * -cp /app/classes io.infinistreams.image.HealthCheck URL} exits 0 when {@code GET URL} answers
 * 2xx, else 1. docker/docker-compose.yml asks it for each instance's {@code /health/ready}. It only
 * asks the container itself: a URL whose host is not a loopback address is refused.
 */
public final class HealthCheck {
  private HealthCheck() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: HealthCheck URL");
      System.exit(2);
    }
    System.exit(check(args[0]) ? 0 : 1);
  }

  /** Whether {@code GET url}, on a loopback address, answers 2xx within a few seconds. */
  public static boolean check(String url) {
    try {
      URI uri = URI.create(url);
      if (uri.getHost() == null || !InetAddress.getByName(uri.getHost()).isLoopbackAddress()) {
        System.out.println(url + ": not a loopback address");
        return false;
      }
      HttpURLConnection connection = (HttpURLConnection) uri.toURL().openConnection();
      connection.setConnectTimeout(3_000);
      connection.setReadTimeout(3_000);
      try {
        int status = connection.getResponseCode();
        System.out.println(url + " " + status);
        return status >= 200 && status < 300;
      } finally {
        connection.disconnect();
      }
    } catch (IOException | IllegalArgumentException e) {
      System.out.println(url + " " + e);
      return false;
    }
  }
}
