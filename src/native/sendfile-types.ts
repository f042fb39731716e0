/** The sendfile half of the native addon (native/sendfile.c). */

/** An opaque job handle (a N-API external). */
export type SendfileJob = { readonly __sendfileJob: unique symbol };

export interface NativeSendfile {
  /**
   * Sends `length` bytes of `fileFd` from `offset` to the TCP socket `socketFd` with sendfile(2)
   * on a pooled native thread. Both descriptors are duplicated before this returns, so the
   * caller may close its own at any time. Nothing else may write to the socket until `done` runs.
   * `done(code, sent)`: code null on success, else an errno name ("EPIPE", "ECANCELED",
   * "ETIMEDOUT" after `idleMs` without progress, "ESHORT" when the file ended early).
   * Throws (code EBUSY when too many jobs run, EMFILE, EINVAL, …) when the job could not start.
   */
  sendfile(
    socketFd: number,
    fileFd: number,
    offset: number,
    length: number,
    idleMs: number,
    done: (code: string | null, sent: number) => void,
  ): SendfileJob;
  /**
   * sendfile(2) on the calling thread, stopping at EAGAIN: bytes sent (0 when the socket buffer
   * is full). Throws ESHORT when the file ends before the first byte, else the errno name.
   */
  sendfileNow(socketFd: number, fileFd: number, offset: number, length: number): number;
  /** Ends the job at its next poll slice (≤ 200 ms); `done` then reports ECANCELED. */
  sendfileCancel(job: SendfileJob): void;
  /** Jobs running now (tests: back to 0 after every response). */
  sendfileJobs(): number;
}
