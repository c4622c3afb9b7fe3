package io.infinistreams.app.ops;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's answer to requests that never reach a route (a malformed URI, a bad header): {@code
 * {"error": "...", "status": N}} instead of Jetty's HTML page, like every other error of the
 * operations server.
 */
final class JsonErrorHandler extends ErrorHandler {
  private final com.fasterxml.jackson.databind.ObjectMapper json;

  JsonErrorHandler(com.fasterxml.jackson.databind.ObjectMapper json) {
    this.json = json;
  }

  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int code,
      String message,
      Throwable cause,
      Callback callback) {
    Map<String, Object> body = new LinkedHashMap<>();
    String reason = HttpStatus.getMessage(code);
    body.put(
        "error",
        message == null || message.isBlank() || message.equals(reason)
            ? reason + " (malformed request or URI; keys are percent-encoded UTF-8)"
            : message);
    body.put("status", code);
    byte[] bytes;
    try {
      bytes = json.writeValueAsBytes(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      bytes = ("{\"status\": " + code + "}").getBytes(StandardCharsets.UTF_8);
    }
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, BufferUtil.toBuffer(bytes), callback);
  }
}
