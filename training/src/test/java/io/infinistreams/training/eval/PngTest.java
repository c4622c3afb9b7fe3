package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngTest {

  private static final Color LOW = new Color(215, 48, 39);
  private static final Color HIGH = new Color(26, 152, 80);

  /** A title much wider than the grid widens the picture: nothing of it touches an edge. */
  @Test
  void aLongTitleOverANarrowGridIsWhole(@TempDir Path dir) throws Exception {
    String title = "needle, memory off: accuracy (%), 20 trials per cell, held-out prose of all";
    Path file = dir.resolve("narrow.png");
    Png.heatmap(
        file,
        title,
        List.of("1K"),
        List.of("50%"),
        "length (tokens)",
        "needle depth",
        new double[][] {{0.5}},
        LOW,
        HIGH,
        true);
    BufferedImage img = ImageIO.read(file.toFile());
    assertTrue(
        img.getWidth() > Png.textWidth(Png.TITLE, title) + 40,
        img.getWidth() + " px for the title's " + Png.textWidth(Png.TITLE, title));
    // the title band's outer columns are background
    int white = Color.WHITE.getRGB();
    for (int y = 0; y < 30; y++) {
      for (int x :
          new int[] {0, 1, 2, img.getWidth() - 3, img.getWidth() - 2, img.getWidth() - 1}) {
        assertEquals(white, img.getRGB(x, y), "pixel " + x + "," + y);
      }
    }
  }

  /** Cells not run yet (NaN) stay grey; a grid with none run still draws. */
  @Test
  void cellsNotRunAreGrey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("empty.png");
    Png.heatmap(
        file,
        "passkey: exact-key accuracy (%), 1 trials per cell",
        List.of("1K", "4K"),
        List.of("0%", "100%"),
        "length (tokens)",
        "needle depth",
        new double[][] {{Double.NaN, Double.NaN}, {Double.NaN, Double.NaN}},
        LOW,
        HIGH,
        true);
    BufferedImage img = ImageIO.read(file.toFile());
    assertEquals(
        new Color(220, 220, 220).getRGB(), img.getRGB(img.getWidth() / 2, img.getHeight() / 2));
  }
}
