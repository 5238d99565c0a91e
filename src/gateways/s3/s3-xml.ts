/**
 * The few XML documents the S3 gateway answers with, written by hand: S3's responses are
 * flat elements of text, and a writer this small has nothing to get wrong but escaping.
 */

/** `text` escaped for an XML element's content or an attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === '"' ? "&quot;" : "&apos;",
  );
}

/** A value of an element: text, a number, a boolean, or nested elements. */
export type XmlValue = string | number | boolean | XmlElement[];
/** One element: its name and value. */
export type XmlElement = readonly [string, XmlValue];

function render(elements: readonly XmlElement[]): string {
  return elements
    .map(([name, value]) => {
      const inner = Array.isArray(value) ? render(value) : xmlEscape(String(value));
      return `<${name}>${inner}</${name}>`;
    })
    .join("");
}

/** A whole document: `root` in S3's namespace holding `children`. */
export function xmlDocument(root: string, children: readonly XmlElement[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${render(children)}</${root}>`;
}

/** S3's error document: `Error` with its code, message, resource and request id. */
export function xmlError(code: string, message: string, resource: string, requestId: string) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${render([
    ["Code", code],
    ["Message", message],
    ["Resource", resource],
    ["RequestId", requestId],
  ])}</Error>`;
}
