/** The TFTP half of the native addon (native/tftp.c). Filled in with its implementation. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeTftp {}
