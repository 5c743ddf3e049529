/** on-headers (express-session's own dependency): a listener called just before a response's headers are written. */
declare module 'on-headers' {
  import type { ServerResponse } from 'node:http';
  export default function onHeaders<R extends ServerResponse>(res: R, listener: (this: R) => void): void;
}
