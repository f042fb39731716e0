/*
 * TFTP data phase on a thread per transfer (as tftpd-hpa forks a process per transfer).
 *
 * JavaScript (src/tftp/native-session.ts) parses the RRQ, opens and jails the file, negotiates the
 * options and encodes the OACK. Then tftpStart() opens the transfer socket (a new TID, RFC 1350 §4:
 * bound to the local address the RRQ was sent to, ephemeral port, connect()ed to the client's
 * address and port so the kernel drops other TIDs) and starts a detached pthread that owns it:
 *
 *   - sends the OACK (or nothing: DATA 1 first, RFC 2347 §2) and runs the data phase, lock-step
 *     (RFC 1350) or in windows (RFC 7440); blocks are read with pread() from the descriptor JS
 *     keeps open until the completion callback, many blocks per call into a private cache, and sent
 *     with sendmsg()/sendmmsg() straight from that cache (no copy);
 *   - block numbers are absolute and go on the wire modulo 65536 (0 after 65535: the tftp-hpa,
 *     curl and atftp convention, same as src/tftp/session.ts);
 *   - an ACK that does not advance NEVER sends anything (Sorcerer's Apprentice, RFC 1123
 *     §4.2.3.1); a partial window ACK resends from the ACKed block + 1, once per flight (RFC 7440
 *     §4, with the recovery point of session.ts);
 *   - retransmission on timeout, backed off x2 up to max(8 s, timeout) unless the client
 *     negotiated the timeout (RFC 1123 §4.2.3.2, RFC 2349); after `retries` timeouts in a row it
 *     sends ERROR 0 "timeout" and ends;
 *   - an ERROR from the client ends it; a read error (or a file shorter than its announced size)
 *     sends ERROR 0 "read error" and ends it; ICMP port unreachable (ECONNREFUSED) ends it;
 *   - tftpCancel() (server stop) wakes the thread at once (shutdown(SHUT_RD) ends its blocking
 *     recv, an eventfd its rare poll); it sends ERROR 0 with the given message and ends.
 *
 * The thread never touches JavaScript: it closes its socket, then posts one result to a
 * napi_threadsafe_function. Every per-block counter lives on the thread; JS sees them once.
 * The libuv thread pool is not used (it would starve fs work behind long transfers).
 *
 * Lifetime: the transfer struct is reference-counted (the thread, the JS handle, the environment
 * cleanup hook, a posted result). If Node's environment is torn down while a thread still runs
 * (process exit without stop()), the cleanup hook cancels the thread and marks the environment
 * gone, so the thread never touches the thread-safe function after Node freed it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "native.h"

#define OP_DATA 3
#define OP_ACK 4
#define OP_ERROR 5
/* Upper bound of the backed-off timeout (session.ts MAX_BACKOFF_MS). */
#define MAX_BACKOFF_MS 8000
/* Block cache: at least this many bytes, and at least 2 windows, at most CACHE_MAX bytes. */
#define CACHE_MIN (256 * 1024)
#define CACHE_MAX (16 * 1024 * 1024)
/* DATA packets per sendmmsg() call. */
#define BATCH 64
#define MSG_MAX 200

enum state { ST_OACK, ST_DATA, ST_DONE };

struct transfer;

typedef struct result {
  struct transfer *t;  /* holds a reference until call_js ran */
  int ok;
  const char *reason; /* timeout | client_error | content | socket | aborted | internal */
  char message[256];
  int client_code;            /* ERROR code from the client, or -1 */
  char client_message[MSG_MAX + 1]; /* raw bytes (latin1) up to the NUL; JS makes it printable */
  double bytes, blocks, retransmits, duplicate_acks, ignored, timeouts, duration_ms;
} result_t;

typedef struct transfer {
  atomic_int refs;       /* the thread, the JS handle, the cleanup hook, a posted result */
  atomic_int cancelled;
  pthread_mutex_t mu;    /* env_gone, hook_ref and closing sock, against the JS thread */
  int env_gone;          /* Node's environment is being torn down: no more N-API calls */
  int hook_ref;          /* the environment cleanup hook is registered and holds a reference */
  int efd;               /* eventfd: cancellation */
  int sock;
  int fd;                /* owned by JS (FileHandle), read-only here */
  uint64_t total;        /* payload bytes */
  uint32_t blksize, window, retries;
  uint32_t base_ms, cur_ms;
  int backoff;           /* 0 when the client negotiated the timeout */
  uint8_t *first;        /* OACK bytes or NULL */
  size_t first_len;
  char cancel_msg[MSG_MAX + 1];
  napi_threadsafe_function tsfn;

  int state;
  uint64_t last;         /* absolute number of the last (short, maybe empty) block */
  uint64_t acked, sent, resending, recover_until;
  uint32_t tries;
  uint64_t progress;
  uint64_t retransmits, duplicate_acks, ignored, bytes, timeouts;
  int want_out;          /* the socket buffer was full: continue on POLLOUT */

  uint8_t *cache;        /* blocks cache_first .. cache_first + cache_count - 1 */
  uint64_t cache_first, cache_count, cache_cap;

  double started_ms;
  result_t *res;
} transfer_t;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void transfer_unref(transfer_t *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  pthread_mutex_destroy(&t->mu);
  if (t->efd >= 0) close(t->efd);
  if (t->sock >= 0) close(t->sock);
  free(t->cache);
  free(t->first);
  free(t->res);
  free(t);
}

/* ---- sending ------------------------------------------------------------------------------- */

static void send_raw(transfer_t *t, const void *buf, size_t len) {
  ssize_t r;
  do r = send(t->sock, buf, len, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  /* Errors are ignored here: the retransmission timer (or the end of the transfer) covers them. */
}

/* ERROR 0 with a message (RFC 1350 §5). */
static void send_error(transfer_t *t, const char *msg) {
  uint8_t b[4 + MSG_MAX + 1];
  size_t n = strnlen(msg, MSG_MAX);
  b[0] = 0; b[1] = OP_ERROR; b[2] = 0; b[3] = 0;
  memcpy(b + 4, msg, n);
  b[4 + n] = 0;
  send_raw(t, b, 5 + n);
}

static void finish(transfer_t *t, int ok, const char *reason, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void finish(transfer_t *t, int ok, const char *reason, const char *fmt, ...) {
  if (t->state == ST_DONE) return;
  t->state = ST_DONE;
  result_t *r = t->res;
  r->ok = ok;
  r->reason = reason;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
}

/* A read error or a file shorter than announced: ERROR 0 to the client, then the end. */
static void content_failed(transfer_t *t, uint64_t at, int err) {
  send_error(t, "read error");
  if (err) finish(t, 0, "content", "read error at byte %llu: %s", (unsigned long long)at, strerror(err));
  else finish(t, 0, "content", "file ended at %llu of %llu bytes", (unsigned long long)at, (unsigned long long)t->total);
}

/* Makes block n (and the ones after it, as many as fit) present in the cache. 0 on failure. */
static int refill(transfer_t *t, uint64_t n) {
  uint64_t count = t->last - n + 1;
  if (count > t->cache_cap) count = t->cache_cap;
  uint64_t off = (n - 1) * (uint64_t)t->blksize;
  uint64_t want = count * (uint64_t)t->blksize;
  if (want > t->total - off) want = t->total - off;
  uint64_t got = 0;
  while (got < want) {
    ssize_t r = pread(t->fd, t->cache + got, want - got, (off_t)(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      content_failed(t, off + got, errno);
      return 0;
    }
    if (r == 0) {
      /* shorter than the size that was announced (truncated under us; reliability T11) */
      content_failed(t, off + got, 0);
      return 0;
    }
    got += (uint64_t)r;
  }
  t->cache_first = n;
  t->cache_count = count;
  return 1;
}

static uint32_t payload_len(const transfer_t *t, uint64_t n) {
  if (n != t->last) return t->blksize;
  return (uint32_t)(t->total - (n - 1) * (uint64_t)t->blksize);
}

/* Sends blocks sent+1 .. min(acked+window, last) (session.ts sendWindow). */
static void send_window(transfer_t *t) {
  if (t->state != ST_DATA || t->want_out) return;
  uint64_t limit = t->acked + t->window;
  if (limit > t->last) limit = t->last;
  uint64_t n = t->sent + 1;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH][2];
  uint8_t hdr[BATCH][4];
  while (n <= limit) {
    int cnt = 0;
    for (uint64_t b = n; b <= limit && cnt < BATCH; b++) {
      if (b < t->cache_first || b >= t->cache_first + t->cache_count) {
        if (cnt > 0) break; /* send what points into the cache before refilling it */
        if (!refill(t, b)) return;
      }
      hdr[cnt][0] = 0;
      hdr[cnt][1] = OP_DATA;
      hdr[cnt][2] = (uint8_t)((b >> 8) & 0xff);
      hdr[cnt][3] = (uint8_t)(b & 0xff);
      iov[cnt][0].iov_base = hdr[cnt];
      iov[cnt][0].iov_len = 4;
      iov[cnt][1].iov_base = t->cache + (b - t->cache_first) * (uint64_t)t->blksize;
      iov[cnt][1].iov_len = payload_len(t, b);
      memset(&msgs[cnt].msg_hdr, 0, sizeof msgs[cnt].msg_hdr);
      msgs[cnt].msg_hdr.msg_iov = iov[cnt];
      msgs[cnt].msg_hdr.msg_iovlen = 2;
      cnt++;
    }
    int r;
    if (cnt == 1) {
      ssize_t s;
      do s = sendmsg(t->sock, &msgs[0].msg_hdr, MSG_DONTWAIT);
      while (s < 0 && errno == EINTR);
      r = s < 0 ? -1 : 1;
    } else {
      do r = sendmmsg(t->sock, msgs, (unsigned)cnt, MSG_DONTWAIT);
      while (r < 0 && errno == EINTR);
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        t->want_out = 1; /* socket buffer full: go on when poll() says POLLOUT */
        break;
      }
      if (errno == ECONNREFUSED) {
        finish(t, 0, "socket", "send: %s", strerror(errno)); /* ICMP port unreachable: client gone */
        return;
      }
      r = 1; /* EPERM (firewall), ENOBUFS...: the packet is lost; the timer resends it */
    }
    for (int i = 0; i < r; i++, n++) {
      if (n <= t->resending) t->retransmits++;
      else t->bytes += payload_len(t, n);
    }
  }
  if (n - 1 > t->sent) t->sent = n - 1;
}

/* ---- receiving ----------------------------------------------------------------------------- */

static void on_ack(transfer_t *t, unsigned wire) {
  if (t->state == ST_OACK) {
    if (wire != 0) {
      t->ignored++;
      return;
    }
    t->state = ST_DATA;
    t->tries = 0;
    t->progress++;
    send_window(t);
    return;
  }
  /* Map the 16-bit number onto (acked, sent]; anything else is a duplicate or stale ACK. */
  uint64_t delta = (wire - (unsigned)(t->acked & 0xffff)) & 0xffff;
  uint64_t abs = t->acked + delta;
  if (delta == 0 || abs > t->sent) {
    t->duplicate_acks++;
    return; /* RFC 1123 §4.2.3.1: never resend on a duplicate ACK */
  }
  t->acked = abs;
  t->tries = 0;
  t->progress++;
  if (abs == t->last) {
    finish(t, 1, NULL, "transfer complete");
    return;
  }
  /* RFC 7440 §4: resend from ACKed block + 1, once per flight (recovery point as session.ts). */
  if (abs < t->sent && abs >= t->recover_until) {
    t->recover_until = t->sent;
    if (t->resending < t->sent) t->resending = t->sent;
    t->sent = abs;
  }
  send_window(t);
}

static void on_packet(transfer_t *t, const uint8_t *b, size_t n) {
  if (n >= 4 && b[0] == 0 && b[1] == OP_ACK) return on_ack(t, ((unsigned)b[2] << 8) | b[3]);
  if (n >= 4 && b[0] == 0 && b[1] == OP_ERROR) {
    /* A missing NUL is tolerated: the message is whatever follows (OpenTFTP CVE-2008-2161). */
    size_t len = strnlen((const char *)b + 4, n - 4);
    if (len > MSG_MAX) len = MSG_MAX;
    t->res->client_code = ((int)b[2] << 8) | b[3];
    memcpy(t->res->client_message, b + 4, len);
    t->res->client_message[len] = 0;
    finish(t, 0, "client_error", "client sent ERROR %d", t->res->client_code);
    return;
  }
  t->ignored++; /* DATA, requests, OACK or junk on a read transfer (reliability T04) */
}

static void on_timeout(transfer_t *t) {
  t->tries++;
  t->timeouts++;
  if (t->tries > t->retries) {
    send_error(t, "timeout");
    finish(t, 0, "timeout", "no ACK after %u retransmissions", t->retries);
    return;
  }
  /* Back off (RFC 1123 §4.2.3.2) unless the client chose the timeout (RFC 2349). */
  if (t->backoff) {
    uint32_t cap = t->base_ms > MAX_BACKOFF_MS ? t->base_ms : MAX_BACKOFF_MS;
    t->cur_ms = t->cur_ms * 2 > cap ? cap : t->cur_ms * 2;
  }
  if (t->state == ST_OACK) {
    t->retransmits++;
    send_raw(t, t->first, t->first_len);
    return;
  }
  /* Resend the unacknowledged part of the window (RFC 7440 §4; lock-step when 1). */
  if (t->resending < t->sent) t->resending = t->sent;
  if (t->recover_until < t->sent) t->recover_until = t->sent;
  t->sent = t->acked;
  t->want_out = 0;
  send_window(t);
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* Cancellation seen: ERROR 0 with the message JS gave, then the end. */
static void aborted(transfer_t *t) {
  send_error(t, t->cancel_msg);
  finish(t, 0, "aborted", "%s", t->cancel_msg);
}

/*
 * The loop. Normally the thread blocks in recv() with SO_RCVTIMEO set to the time left until
 * the retransmission deadline: one recv and one send per block. In lock-step every ACK restarts
 * the full timeout, so the socket option is set again only after an ACK that did not advance.
 * Cancellation shuts the socket down for reading (recv returns at once) and sets `cancelled`.
 * Only when the socket buffer was full (EAGAIN on a window) does it poll() for POLLOUT, with the
 * eventfd in the set for cancellation.
 */
static void *run(void *arg) {
  transfer_t *t = arg;
  pthread_setname_np(pthread_self(), "ks-tftp");
  uint8_t buf[2048];
  if (t->first) {
    t->state = ST_OACK;
    send_raw(t, t->first, t->first_len);
  } else {
    t->state = ST_DATA;
    send_window(t);
  }
  double deadline = now_ms() + t->cur_ms;
  uint64_t seen = t->progress;
  long rcvtimeo = -1; /* the SO_RCVTIMEO in force (ms) */
  while (t->state != ST_DONE) {
    if (atomic_load(&t->cancelled)) {
      aborted(t);
      break;
    }
    double now = now_ms();
    if (t->progress != seen) {
      seen = t->progress;
      t->cur_ms = t->base_ms;
      deadline = now + t->cur_ms;
    } else if (now >= deadline) {
      on_timeout(t);
      deadline = now + t->cur_ms;
      continue;
    }
    long left = (long)(deadline - now + 0.999);
    if (left < 1) left = 1;
    if (t->want_out) {
      struct pollfd p[2] = {
        { .fd = t->sock, .events = POLLIN | POLLOUT, .revents = 0 },
        { .fd = t->efd, .events = POLLIN, .revents = 0 },
      };
      int pr = poll(p, 2, (int)left);
      if (pr < 0 && errno != EINTR) {
        finish(t, 0, "internal", "poll: %s", strerror(errno));
        break;
      }
      if (pr <= 0 || p[1].revents) continue; /* timeout, EINTR or cancellation: the loop's top */
      if (p[0].revents & POLLOUT) {
        t->want_out = 0;
        send_window(t);
      }
      if (!(p[0].revents & (POLLIN | POLLERR))) continue;
    } else if (left != rcvtimeo) {
      struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
      if (setsockopt(t->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0) rcvtimeo = left;
    }
    ssize_t n = recv(t->sock, buf, sizeof buf, t->want_out ? MSG_DONTWAIT : 0);
    if (n < 0) {
      if (errno == ECONNREFUSED) finish(t, 0, "socket", "recv: %s", strerror(errno)); /* ICMP port unreachable */
      continue; /* EAGAIN (the timeout), EINTR, or a transient error */
    }
    if (n == 0 && atomic_load(&t->cancelled)) continue; /* woken by shutdown(SHUT_RD) */
    on_packet(t, buf, (size_t)n);
  }
  /* The socket is closed before JS hears of the end: a finished transfer holds no port. */
  pthread_mutex_lock(&t->mu);
  close(t->sock);
  t->sock = -1;
  pthread_mutex_unlock(&t->mu);
  result_t *r = t->res;
  t->res = NULL;
  r->bytes = (double)t->bytes;
  r->blocks = (double)t->acked;
  r->retransmits = (double)t->retransmits;
  r->duplicate_acks = (double)t->duplicate_acks;
  r->ignored = (double)t->ignored;
  r->timeouts = (double)t->timeouts;
  r->duration_ms = now_ms() - t->started_ms;
  r->t = t;
  atomic_fetch_add(&t->refs, 1); /* the result's reference, dropped by call_js */
  pthread_mutex_lock(&t->mu);
  int posted = 0;
  if (!t->env_gone) {
    posted = napi_call_threadsafe_function(t->tsfn, r, napi_tsfn_blocking) == napi_ok;
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_release);
  }
  pthread_mutex_unlock(&t->mu);
  if (!posted) {
    free(r);
    transfer_unref(t);
  }
  transfer_unref(t);
  return NULL;
}

/* ---- N-API --------------------------------------------------------------------------------- */

static void set_num(napi_env env, napi_value obj, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, k, x);
}

static void set_str(napi_env env, napi_value obj, const char *k, const char *s, int latin1) {
  napi_value x;
  if (!s) napi_get_null(env, &x);
  else if (latin1) napi_create_string_latin1(env, s, NAPI_AUTO_LENGTH, &x);
  else napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &x);
  napi_set_named_property(env, obj, k, x);
}

/* Runs on the JS thread: hands the result object to the callback given to tftpStart. */
static void env_cleanup(void *arg);

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  result_t *r = data;
  transfer_t *t = r->t;
  if (env == NULL || cb == NULL) { /* the thread-safe function is being torn down */
    free(r);
    transfer_unref(t);
    return;
  }
  pthread_mutex_lock(&t->mu);
  int hooked = t->hook_ref;
  t->hook_ref = 0;
  pthread_mutex_unlock(&t->mu);
  if (hooked) {
    napi_remove_env_cleanup_hook(env, env_cleanup, t);
    transfer_unref(t);
  }
  transfer_unref(t); /* the result's reference */
  napi_value obj, undef, ok;
  napi_create_object(env, &obj);
  napi_get_boolean(env, r->ok != 0, &ok);
  napi_set_named_property(env, obj, "ok", ok);
  set_str(env, obj, "reason", r->reason, 0);
  set_str(env, obj, "message", r->message, 0);
  if (r->client_code >= 0) {
    set_num(env, obj, "clientErrorCode", r->client_code);
    set_str(env, obj, "clientErrorMessage", r->client_message, 1);
  }
  set_num(env, obj, "bytes", r->bytes);
  set_num(env, obj, "blocks", r->blocks);
  set_num(env, obj, "retransmits", r->retransmits);
  set_num(env, obj, "duplicateAcks", r->duplicate_acks);
  set_num(env, obj, "ignored", r->ignored);
  set_num(env, obj, "timeouts", r->timeouts);
  set_num(env, obj, "durationMs", r->duration_ms);
  free(r);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, cb, 1, &obj, NULL);
}

/* Wakes the thread wherever it waits: recv() through shutdown(SHUT_RD) (sends still work, for
 * the ERROR), poll() through the eventfd. The mutex keeps the thread from closing the socket
 * (and the number being reused) in between. */
static void cancel(transfer_t *t) {
  atomic_store(&t->cancelled, 1);
  uint64_t one = 1;
  ssize_t w = write(t->efd, &one, sizeof one);
  (void)w; /* EAGAIN only when the counter is already set: the thread is woken either way */
  pthread_mutex_lock(&t->mu);
  if (t->sock >= 0) shutdown(t->sock, SHUT_RD);
  pthread_mutex_unlock(&t->mu);
}

/* Node's environment is going away with the transfer still running: stop it, and keep the thread
 * away from the thread-safe function, which Node frees right after this hook. */
static void env_cleanup(void *arg) {
  transfer_t *t = arg;
  pthread_mutex_lock(&t->mu);
  t->env_gone = 1;
  int hooked = t->hook_ref;
  t->hook_ref = 0;
  pthread_mutex_unlock(&t->mu);
  cancel(t);
  if (hooked) transfer_unref(t);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  transfer_unref(data);
}

static napi_value throw_error(napi_env env, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static napi_value throw_error(napi_env env, const char *code, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_error(env, code, msg);
  return NULL;
}

static int get_prop(napi_env env, napi_value o, const char *k, napi_value *v) {
  bool has = false;
  if (napi_has_named_property(env, o, k, &has) != napi_ok || !has) return 0;
  return napi_get_named_property(env, o, k, v) == napi_ok;
}

static int get_u32(napi_env env, napi_value o, const char *k, uint32_t *out) {
  napi_value v;
  return get_prop(env, o, k, &v) && napi_get_value_uint32(env, v, out) == napi_ok;
}

static int get_double(napi_env env, napi_value o, const char *k, double *out) {
  napi_value v;
  return get_prop(env, o, k, &v) && napi_get_value_double(env, v, out) == napi_ok;
}

static int get_ipv4(napi_env env, napi_value o, const char *k, struct in_addr *out) {
  napi_value v;
  char s[64];
  size_t len = 0;
  if (!get_prop(env, o, k, &v) || napi_get_value_string_utf8(env, v, s, sizeof s, &len) != napi_ok) return 0;
  return inet_pton(AF_INET, s, out) == 1;
}

/*
 * tftpStart(options, onEnd) -> handle
 *   options: { fd, size, blksize, windowsize, timeoutMs, backoff, retries, localAddress,
 *              clientAddress, clientPort, first?: Buffer }
 * Opens, binds and connects the transfer socket here (errors throw), then starts the thread.
 */
static napi_value tftp_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return throw_error(env, "EINVAL", "tftpStart(options, onEnd)");
  napi_value o = argv[0];
  napi_valuetype cbt;
  napi_typeof(env, argv[1], &cbt);
  if (cbt != napi_function) return throw_error(env, "EINVAL", "tftpStart: onEnd must be a function");
  uint32_t fd, blksize, window, timeout_ms, retries, cport;
  double size;
  struct in_addr laddr, caddr;
  if (!get_u32(env, o, "fd", &fd) || !get_double(env, o, "size", &size) || !get_u32(env, o, "blksize", &blksize) ||
      !get_u32(env, o, "windowsize", &window) || !get_u32(env, o, "timeoutMs", &timeout_ms) ||
      !get_u32(env, o, "retries", &retries) || !get_u32(env, o, "clientPort", &cport) ||
      !get_ipv4(env, o, "localAddress", &laddr) || !get_ipv4(env, o, "clientAddress", &caddr))
    return throw_error(env, "EINVAL", "tftpStart: bad options");
  if (blksize < 8 || blksize > 65464 || window < 1 || window > 65535 || size < 0 || size > 9007199254740991.0 ||
      timeout_ms < 1 || cport < 1 || cport > 65535)
    return throw_error(env, "EINVAL", "tftpStart: option out of range");
  bool backoff = true;
  napi_value v;
  if (get_prop(env, o, "backoff", &v)) napi_get_value_bool(env, v, &backoff);

  transfer_t *t = calloc(1, sizeof *t);
  if (!t) return throw_error(env, "ENOMEM", "tftpStart: out of memory");
  t->efd = -1;
  t->sock = -1;
  pthread_mutex_init(&t->mu, NULL);
  atomic_init(&t->refs, 2);
  atomic_init(&t->cancelled, 0);
  t->fd = (int)fd;
  t->total = (uint64_t)size;
  t->blksize = blksize;
  t->window = window;
  t->retries = retries;
  t->base_ms = t->cur_ms = timeout_ms;
  t->backoff = backoff;
  t->last = t->total / blksize + 1;
  snprintf(t->cancel_msg, sizeof t->cancel_msg, "transfer cancelled");
  uint64_t cache_bytes = (uint64_t)window * blksize * 2;
  if (cache_bytes < CACHE_MIN) cache_bytes = CACHE_MIN;
  if (cache_bytes > CACHE_MAX) cache_bytes = CACHE_MAX;
  t->cache_cap = cache_bytes / blksize;
  if (t->cache_cap < 1) t->cache_cap = 1;
  t->res = calloc(1, sizeof *t->res);
  t->cache = malloc(t->cache_cap * blksize);
  if (get_prop(env, o, "first", &v)) {
    bool isbuf = false;
    napi_is_buffer(env, v, &isbuf);
    if (isbuf) {
      void *data;
      size_t len;
      napi_get_buffer_info(env, v, &data, &len);
      if (len > 0 && len <= 65536) {
        t->first = malloc(len);
        if (t->first) memcpy(t->first, data, len);
        t->first_len = len;
      }
    }
  }
  const char *fail = NULL;
  int err = 0;
  if (!t->res || !t->cache || (t->first_len && !t->first)) { fail = "out of memory"; err = ENOMEM; }
  if (!fail) {
    t->res->client_code = -1;
    t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->efd < 0) { fail = "eventfd"; err = errno; }
  }
  if (!fail) {
    /* The transfer's own TID: bound to the address the RRQ came to, connected to the client. */
    t->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* blocking recv; sends use MSG_DONTWAIT */
    struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = 0, .sin_addr = laddr };
    struct sockaddr_in ca = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cport), .sin_addr = caddr };
    if (t->sock < 0) { fail = "socket"; err = errno; }
    else if (bind(t->sock, (struct sockaddr *)&la, sizeof la) < 0) { fail = "bind"; err = errno; }
    else if (connect(t->sock, (struct sockaddr *)&ca, sizeof ca) < 0) { fail = "connect"; err = errno; }
  }
  struct sockaddr_in bound;
  socklen_t blen = sizeof bound;
  if (!fail && getsockname(t->sock, (struct sockaddr *)&bound, &blen) < 0) { fail = "getsockname"; err = errno; }
  napi_value name, handle;
  if (!fail) {
    napi_create_string_utf8(env, "kickstand-tftp", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &t->tsfn) != napi_ok) {
      fail = "threadsafe function";
      err = EINVAL;
    }
  }
  if (fail) {
    atomic_store(&t->refs, 1);
    transfer_unref(t);
    return throw_error(env, "ENATIVE", "tftpStart: %s: %s", fail, strerror(err));
  }
  napi_create_object(env, &handle);
  set_num(env, handle, "port", ntohs(bound.sin_port));
  napi_wrap(env, handle, t, handle_finalize, NULL, NULL);
  /* Registered after the thread-safe function's own hook, so it runs before that one. */
  atomic_fetch_add(&t->refs, 1);
  t->hook_ref = 1;
  napi_add_env_cleanup_hook(env, env_cleanup, t);

  t->started_ms = now_ms();
  /* Signals stay with Node's threads: the new thread inherits a full mask. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  int pe = pthread_create(&th, &attr, run, t);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pe != 0) {
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    close(t->sock);
    t->sock = -1;
    t->hook_ref = 0;
    napi_remove_env_cleanup_hook(env, env_cleanup, t);
    transfer_unref(t); /* the hook's reference */
    transfer_unref(t); /* the thread's reference; the handle's goes with its finalizer */
    return throw_error(env, "ENATIVE", "tftpStart: pthread_create: %s", strerror(pe));
  }
  return handle;
}

/* tftpCancel(handle, message): wakes the transfer's thread, which sends ERROR 0 message and ends. */
static napi_value tftp_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) return throw_error(env, "EINVAL", "tftpCancel(handle, message)");
  void *p = NULL;
  if (napi_unwrap(env, argv[0], &p) != napi_ok || !p) return throw_error(env, "EINVAL", "tftpCancel: not a transfer handle");
  transfer_t *t = p;
  if (atomic_load(&t->cancelled)) return NULL;
  if (argc >= 2) {
    size_t len = 0;
    napi_get_value_string_latin1(env, argv[1], t->cancel_msg, sizeof t->cancel_msg, &len);
  }
  cancel(t);
  return NULL;
}

napi_status init_tftp(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "tftpStart", NULL, tftp_start, NULL, NULL, NULL, napi_default, NULL },
    { "tftpCancel", NULL, tftp_cancel, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
