// Colour contrast as WCAG 2.x measures it. A city's primary colour is the background of white
// text (header, buttons), so the settings refuse one below AA for normal text, and the admin
// console shows the ratio as it is typed. Isomorphic and pure.

/** WCAG 2.x level AA for normal text (1.4.3). */
export const MIN_TEXT_CONTRAST = 4.5;

const HEX_COLOUR = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i;

function channel(value: number): number {
  const c = value / 255;
  // sRGB's own threshold (WCAG's 0.03928 gives the same result for 8-bit values).
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** The relative luminance of a `#rrggbb` colour, from 0 (black) to 1 (white). */
export function relativeLuminance(colour: string): number {
  const match = HEX_COLOUR.exec(colour);
  if (!match) throw new TypeError(`Not a #rrggbb colour: ${JSON.stringify(colour)}`);
  const [r, g, b] = match.slice(1).map((hex) => channel(Number.parseInt(hex, 16))) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The contrast ratio of two `#rrggbb` colours, from 1 (same) to 21 (black on white); order does not matter. */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/**
 * A ratio as people read it ("4.48:1"), rounded down: WCAG allows no rounding up, so a colour
 * shown as 4.5:1 really reaches it.
 */
export function formatContrast(ratio: number): string {
  return `${(Math.floor(ratio * 100) / 100).toString()}:1`;
}
