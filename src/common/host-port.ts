/**
 * `host:port` as the nodes take it from each other and from operators: a name or address of
 * letters, digits, `_`, `.` and `-` (at most 253), or a bracketed IPv6 address, and a port of
 * 1 to 5 digits no greater than 65535.
 */
const HOST_PORT_PATTERN = /^(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9_.-]{1,253}):(\d{1,5})$/;

/** True when `text` is a `host:port` as above. */
export function isHostPort(text: string): boolean {
  const match = HOST_PORT_PATTERN.exec(text);
  return match !== null && Number(match[2]) <= 65535;
}
