/** The sendfile half of the native addon (native/sendfile.c). Filled in with its implementation. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NativeSendfile {}
