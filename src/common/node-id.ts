/**
 * Node ids, as every part of the system takes them: a certificate's common name, a Raft
 * message's sender, a membership registration, a data server marked draining in the metadata.
 * One to 64 letters, digits, `_`, `.` or `-`: safe in a path, a key and a log line.
 */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
