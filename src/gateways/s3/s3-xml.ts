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

/** The declaration a document begins with. */
export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A document's element: `root` in S3's namespace holding `children`. */
export function xmlElement(root: string, children: readonly XmlElement[]): string {
  return `<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${render(children)}</${root}>`;
}

/** A whole document: `root` in S3's namespace holding `children`. */
export function xmlDocument(root: string, children: readonly XmlElement[]): string {
  return XML_DECLARATION + xmlElement(root, children);
}

/** S3's error document: `Error` with its code, message, resource and request id. */
export function xmlError(code: string, message: string, resource: string, requestId: string) {
  return XML_DECLARATION + xmlErrorElement(code, message, resource, requestId);
}

/** The `Error` element alone, for an error after a document's declaration was sent. */
export function xmlErrorElement(
  code: string,
  message: string,
  resource: string,
  requestId: string,
) {
  return `<Error>${render([
    ["Code", code],
    ["Message", message],
    ["Resource", resource],
    ["RequestId", requestId],
  ])}</Error>`;
}

/** An element of a request's XML body: its local name (no prefix), text and children. */
export interface XmlNode {
  readonly name: string;
  readonly text: string;
  readonly children: readonly XmlNode[];
}

/** Most bytes of XML a request body may hold: a DeleteObjects of 1,000 long keys fits. */
export const MAX_XML_BODY_BYTES = 2 * 1024 * 1024;
/** Deepest nesting a request body may have: S3's have three levels. */
const MAX_XML_DEPTH = 16;

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function xmlUnescape(text: string, malformed: (why: string) => Error): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, name: string | undefined) => {
    if (name === undefined) throw malformed("a bare & in text");
    if (name.startsWith("#")) {
      const code = name[1] === "x" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      if (!(code >= 0 && code <= 0x10ffff)) throw malformed(`the character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const known = ENTITIES[name];
    if (known === undefined) throw malformed(`the entity ${whole}`);
    return known;
  });
}

/**
 * The root element of `text`, an XML document as S3 clients send them (elements, text,
 * attributes that are ignored, comments, a declaration; no DTDs or CDATA). `malformed`
 * makes the error for a document that is not one, naming what is wrong.
 */
export function readXml(text: string, malformed: (why: string) => Error): XmlNode {
  let at = 0;
  const skipMisc = () => {
    for (;;) {
      while (at < text.length && /\s/.test(text.charAt(at))) at++;
      if (text.startsWith("<?", at) || text.startsWith("<!--", at)) {
        const end = text.indexOf(text.startsWith("<?", at) ? "?>" : "-->", at);
        if (end < 0) throw malformed("an unterminated declaration or comment");
        at = end + (text.startsWith("<?", at) ? 2 : 3);
      } else return;
    }
  };
  const element = (depth: number): XmlNode => {
    if (depth > MAX_XML_DEPTH) throw malformed(`nesting deeper than ${MAX_XML_DEPTH}`);
    const open = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
      text.slice(at, at + 4096),
    );
    if (!open) throw malformed(`no element where one should start, at byte ${at}`);
    at += open[0].length;
    const qualified = open[1] ?? "";
    const name = qualified.slice(qualified.indexOf(":") + 1);
    if (open[3] === "/") return { name, text: "", children: [] };
    const children: XmlNode[] = [];
    let content = "";
    for (;;) {
      const lt = text.indexOf("<", at);
      if (lt < 0) throw malformed(`<${qualified}> is never closed`);
      content += text.slice(at, lt);
      at = lt;
      if (text.startsWith("<!--", at)) {
        const end = text.indexOf("-->", at);
        if (end < 0) throw malformed("an unterminated comment");
        at = end + 3;
      } else if (text.startsWith("</", at)) {
        const close = `</${qualified}`;
        if (!text.startsWith(close, at))
          throw malformed(`<${qualified}> is closed by another element`);
        at += close.length;
        while (/\s/.test(text.charAt(at))) at++;
        if (text.charAt(at) !== ">") throw malformed(`</${qualified} is not ended by >`);
        at++;
        return { name, text: xmlUnescape(content, malformed), children };
      } else children.push(element(depth + 1));
    }
  };
  skipMisc();
  const root = element(0);
  skipMisc();
  if (at !== text.length) throw malformed("content after the document's element");
  return root;
}

/** The children of `node` named `name`. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The text of `node`'s first child named `name`; undefined when it has none. */
export function childText(node: XmlNode, name: string): string | undefined {
  return node.children.find((c) => c.name === name)?.text;
}
