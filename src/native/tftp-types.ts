/**
 * The TFTP half of the native addon (native/tftp.c): the data phase of one read transfer on its
 * own thread and its own socket. Used by src/tftp/native-session.ts.
 */

export interface NativeTftpStartOptions {
  /** Open, readable descriptor of the file; JS keeps it open until `onEnd` ran. */
  fd: number;
  /** Payload bytes to send (decides the last, short block). */
  size: number;
  blksize: number;
  windowsize: number;
  /** Base retransmission timeout (ms). */
  timeoutMs: number;
  /** Back off ×2 up to max(8 s, timeoutMs) on timeouts; false when the client negotiated it (RFC 2349). */
  backoff: boolean;
  /** Timeouts in a row before ERROR 0 "timeout" ends the transfer. */
  retries: number;
  /** Local IPv4 address the RRQ was sent to: the transfer socket is bound to it (port 0). */
  localAddress: string;
  /** The client's TID: the socket is connected to it. */
  clientAddress: string;
  clientPort: number;
  /** First packet (the OACK); absent: start with DATA 1. */
  first?: Buffer;
}

export interface NativeTftpResult {
  ok: boolean;
  /** null on success, else timeout | client_error | content | socket | aborted | internal. */
  reason: string | null;
  message: string;
  /** When reason is client_error: the client's ERROR code and raw (latin1) message. */
  clientErrorCode?: number;
  clientErrorMessage?: string;
  /** Payload bytes sent in first transmissions. */
  bytes: number;
  /** Highest block the client ACKed (absolute). */
  blocks: number;
  retransmits: number;
  duplicateAcks: number;
  ignored: number;
  timeouts: number;
  durationMs: number;
}

/** A running transfer; `port` is its ephemeral local port (its TID). */
export interface NativeTftpHandle {
  readonly port: number;
}

export interface NativeTftp {
  /** Binds and connects the socket (throws on failure) and starts the transfer's thread. */
  tftpStart(options: NativeTftpStartOptions, onEnd: (r: NativeTftpResult) => void): NativeTftpHandle;
  /** Wakes the thread at once; it sends ERROR 0 `message` and ends (onEnd reason "aborted"). */
  tftpCancel(handle: NativeTftpHandle, message: string): void;
}
