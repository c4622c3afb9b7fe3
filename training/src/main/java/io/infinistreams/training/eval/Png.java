package io.infinistreams.training.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** Heatmaps drawn with java.awt into PNG files (headless). */
public final class Png {
  static {
    System.setProperty("java.awt.headless", "true");
  }

  private Png() {}

  /**
   * A heatmap of values in [0, 1] (NaN = not run, drawn grey), a cell label each.
   *
   * @param values (rows, cols)
   * @param low colour of 0
   * @param high colour of 1
   */
  public static void heatmap(
      Path file,
      String title,
      List<String> rowLabels,
      List<String> colLabels,
      String rowAxis,
      String colAxis,
      double[][] values,
      Color low,
      Color high,
      boolean percent)
      throws IOException {
    int cell = 56;
    int left = 110;
    int top = 60;
    Font bold = new Font(Font.SANS_SERIF, Font.BOLD, 14);
    Graphics2D probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    int titleWidth = probe.getFontMetrics(bold).stringWidth(title);
    probe.dispose();
    int w = Math.max(left + cell * colLabels.size() + 20, 10 + titleWidth + 10); // whole title
    int h = top + cell * rowLabels.size() + 50;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(
        RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setColor(Color.BLACK);
    g.setFont(bold);
    g.drawString(title, 10, 22);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.drawString(colAxis, left, 44);
    for (int r = 0; r < rowLabels.size(); r++) {
      for (int c = 0; c < colLabels.size(); c++) {
        double v = values[r][c];
        int x = left + c * cell;
        int y = top + r * cell;
        g.setColor(Double.isNaN(v) ? new Color(220, 220, 220) : mix(low, high, v));
        g.fillRect(x, y, cell, cell);
        g.setColor(Color.WHITE);
        g.setStroke(new BasicStroke(1));
        g.drawRect(x, y, cell, cell);
        String label =
            Double.isNaN(v)
                ? "-"
                : percent ? String.format("%.0f", 100 * v) : String.format("%.2f", v);
        g.setColor(
            Double.isNaN(v) || luminance(mix(low, high, v)) > 140 ? Color.BLACK : Color.WHITE);
        FontMetrics fm = g.getFontMetrics();
        g.drawString(label, x + (cell - fm.stringWidth(label)) / 2, y + cell / 2 + 5);
      }
      g.setColor(Color.BLACK);
      g.drawString(rowLabels.get(r), 10, top + r * cell + cell / 2 + 5);
    }
    for (int c = 0; c < colLabels.size(); c++) {
      FontMetrics fm = g.getFontMetrics();
      String s = colLabels.get(c);
      g.drawString(
          s, left + c * cell + (cell - fm.stringWidth(s)) / 2, top + rowLabels.size() * cell + 18);
    }
    g.drawString(rowAxis, 10, top + rowLabels.size() * cell + 38);
    g.dispose();
    Files.createDirectories(file.toAbsolutePath().getParent());
    ImageIO.write(img, "png", file.toFile());
  }

  static Color mix(Color a, Color b, double t) {
    double u = Math.max(0, Math.min(1, t));
    return new Color(
        (int) Math.round(a.getRed() + (b.getRed() - a.getRed()) * u),
        (int) Math.round(a.getGreen() + (b.getGreen() - a.getGreen()) * u),
        (int) Math.round(a.getBlue() + (b.getBlue() - a.getBlue()) * u));
  }

  private static double luminance(Color c) {
    return 0.299 * c.getRed() + 0.587 * c.getGreen() + 0.114 * c.getBlue();
  }
}
