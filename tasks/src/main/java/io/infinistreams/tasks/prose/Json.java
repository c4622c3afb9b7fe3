package io.infinistreams.tasks.prose;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader for the corpora manifest: objects become {@link LinkedHashMap}s, arrays
 * {@link List}s, numbers {@link Double}s (or {@link Long}s when integral), strings, booleans and
 * null as themselves. Enough for hand-written and generated manifests; not a general library.
 */
final class Json {
  private final String s;
  private int p;

  private Json(String s) {
    this.s = s;
  }

  /** The value {@code text} holds. */
  static Object parse(String text) {
    Json j = new Json(text);
    Object v = j.value();
    j.space();
    if (j.p != j.s.length()) {
      throw j.error("trailing characters");
    }
    return v;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("JSON: " + what + " at offset " + p);
  }

  private void space() {
    while (p < s.length() && Character.isWhitespace(s.charAt(p))) {
      p++;
    }
  }

  private Object value() {
    space();
    if (p >= s.length()) {
      throw error("unexpected end");
    }
    char c = s.charAt(p);
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        return number();
    }
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, p)) {
      throw error("unknown literal");
    }
    p += word.length();
    return v;
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    p++; // {
    space();
    if (p < s.length() && s.charAt(p) == '}') {
      p++;
      return m;
    }
    while (true) {
      space();
      if (p >= s.length() || s.charAt(p) != '"') {
        throw error("expected a key");
      }
      String k = string();
      space();
      expect(':');
      m.put(k, value());
      space();
      if (p < s.length() && s.charAt(p) == ',') {
        p++;
      } else {
        expect('}');
        return m;
      }
    }
  }

  private List<Object> array() {
    List<Object> a = new ArrayList<>();
    p++; // [
    space();
    if (p < s.length() && s.charAt(p) == ']') {
      p++;
      return a;
    }
    while (true) {
      a.add(value());
      space();
      if (p < s.length() && s.charAt(p) == ',') {
        p++;
      } else {
        expect(']');
        return a;
      }
    }
  }

  private void expect(char c) {
    if (p >= s.length() || s.charAt(p) != c) {
      throw error("expected '" + c + "'");
    }
    p++;
  }

  private String string() {
    p++; // opening quote
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (p >= s.length()) {
        throw error("unterminated string");
      }
      char c = s.charAt(p++);
      if (c == '"') {
        return sb.toString();
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (p >= s.length()) {
        throw error("unterminated escape");
      }
      char e = s.charAt(p++);
      switch (e) {
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'u' -> {
          if (p + 4 > s.length()) {
            throw error("short \\u escape");
          }
          sb.append((char) Integer.parseInt(s.substring(p, p + 4), 16));
          p += 4;
        }
        default -> sb.append(e); // \" \\ \/
      }
    }
  }

  private Object number() {
    int start = p;
    while (p < s.length() && "+-0123456789.eE".indexOf(s.charAt(p)) >= 0) {
      p++;
    }
    if (start == p) {
      throw error("unexpected character '" + s.charAt(p) + "'");
    }
    String t = s.substring(start, p);
    if (t.matches("-?\\d+")) {
      return Long.parseLong(t);
    }
    return Double.parseDouble(t);
  }
}
