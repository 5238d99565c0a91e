/**
 * The `Range` header of a download (RFC 9110 §14), for a file of a known size.
 *
 * One range of bytes is served (206); a header that is not a bytes range, or asks for more
 * than one range, is ignored and the whole file served (200), as the RFC allows and as S3
 * does; a range that starts past the end is unsatisfiable (416).
 */

/** What to send for a `Range` header: the whole file, a slice, or 416. */
export type RangeAnswer =
  | { readonly kind: "whole" }
  /** Bytes [start, end) of the file: `end` is exclusive, unlike the header's. */
  | { readonly kind: "slice"; readonly start: number; readonly end: number }
  | { readonly kind: "unsatisfiable" };

/** Longest header looked at: a longer one is no single range and is ignored. */
const MAX_RANGE_HEADER = 200;

/** `bytes=first-last`, `bytes=first-` or `bytes=-suffix`, digits only, one range. */
const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

/** The answer to `header` (absent: the whole file) for a file of `size` bytes. */
export function answerRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined || header.length > MAX_RANGE_HEADER) return { kind: "whole" };
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return { kind: "whole" };
  const [, firstText = "", lastText = ""] = match;
  if (firstText === "" && lastText === "") return { kind: "whole" };
  if (firstText === "") {
    // The last `suffix` bytes; a zero suffix selects nothing, which cannot be satisfied.
    const suffix = Number(lastText);
    if (!Number.isSafeInteger(suffix)) return { kind: "whole" };
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "slice", start: Math.max(0, size - suffix), end: size };
  }
  const first = Number(firstText);
  const last = lastText === "" ? Number.MAX_SAFE_INTEGER : Number(lastText);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) return { kind: "whole" };
  // An inverted range is invalid syntax, which the RFC says to ignore.
  if (last < first) return { kind: "whole" };
  if (first >= size) return { kind: "unsatisfiable" };
  return { kind: "slice", start: first, end: Math.min(last, size - 1) + 1 };
}
