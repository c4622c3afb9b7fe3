package io.infinistreams.training.eval;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;

/** Heatmaps drawn by XChart into PNG files, headless. */
public final class Png {
  static {
    System.setProperty("java.awt.headless", "true");
  }

  /** Pixels per cell side. */
  private static final int CELL = 56;

  static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 14);
  private static final Font LABELS = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
  private static final Color NOT_RUN = new Color(220, 220, 220);

  private Png() {}

  /**
   * A heatmap of values in [0, 1], a cell label each; NaN (not run) leaves the cell grey and
   * unlabelled. Row 0 is drawn at the top; the image is wide enough for the whole title.
   *
   * @param values (rows, cols)
   * @param low colour of 0
   * @param high colour of 1
   * @param percent label cells with 100 x value, no decimals; else the value with two
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
    int rows = rowLabels.size();
    int cols = colLabels.size();
    int width = Math.max(140 + CELL * cols, textWidth(TITLE, title) + 80);
    int height = 110 + CELL * rows;
    HeatMapChart chart =
        new HeatMapChartBuilder()
            .width(width)
            .height(height)
            .title(title)
            .xAxisTitle(colAxis)
            .yAxisTitle(rowAxis)
            .build();
    HeatMapStyler s = chart.getStyler();
    s.setChartBackgroundColor(Color.WHITE);
    s.setPlotBackgroundColor(NOT_RUN);
    s.setPlotBorderVisible(false);
    s.setPlotGridLinesVisible(false);
    s.setPlotContentSize(1.0);
    s.setChartTitleFont(TITLE);
    s.setChartTitleBoxVisible(false);
    s.setAxisTitleFont(LABELS);
    s.setAxisTickLabelsFont(LABELS);
    s.setLegendVisible(false);
    s.setToolTipsEnabled(false);
    s.setRangeColors(new Color[] {low, high});
    s.setMin(0);
    s.setMax(percent ? 100 : 1);
    s.setDrawBorder(false);
    s.setShowValue(true);
    s.setValueFont(LABELS);
    s.setValueFontColor(Color.BLACK);
    s.setHeatMapValueDecimalPattern(percent ? "0" : "0.00");
    s.setChartPadding(10);
    s.setLegendPosition(Styler.LegendPosition.OutsideE);

    // XChart puts y index 0 at the bottom: the rows go in reversed, so row 0 is on top.
    List<String> yLabels = new ArrayList<>(rowLabels);
    Collections.reverse(yLabels);
    List<Number[]> cells = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        double v = values[r][c];
        if (!Double.isNaN(v)) {
          cells.add(new Number[] {c, rows - 1 - r, percent ? 100 * v : v});
        }
      }
    }
    if (cells.isEmpty()) {
      // XChart refuses an empty series; an all-grey grid says that nothing was run yet.
      cells.add(new Number[] {cols, rows, 0});
    }
    chart.addSeries("values", colLabels, yLabels, cells);
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (OutputStream out = Files.newOutputStream(file)) {
      BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    }
  }

  static int textWidth(Font font, String text) {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    try {
      FontMetrics fm = g.getFontMetrics(font);
      return fm.stringWidth(text);
    } finally {
      g.dispose();
    }
  }
}
