/*
 * sendfile(2) for HTTP boot assets, on a pool of private threads (not libuv's: a job can wait
 * on a slow reader for a long time, and the thread pool serves every fs call of the daemon).
 *
 * Why: Node has no sendfile. Its path copies every byte page cache -> user buffer (thread pool)
 * -> socket (main thread); nginx copies none (bench/RESULTS.md, docs/http-assets.md).
 *
 * Contract (src/http/assets/sendfile.ts is the only caller):
 *   job = sendfile(socketFd, fileFd, offset, length, idleMs, done); sendfileCancel(job)
 *   - Both descriptors are dup()ed here, on the calling (main) thread, before the thread starts:
 *     Node may close its socket (client gone, server stop) and the open-file cache its file while
 *     the thread runs; the thread only ever touches its own duplicates, so a closed-and-reused
 *     descriptor number can never receive file bytes.
 *   - The caller guarantees nothing else writes to the socket until `done` runs (the HTTP
 *     response's headers were flushed to the kernel first; Node queues later writes).
 *   - The socket is non-blocking (libuv): EAGAIN waits in poll(POLLOUT) in slices of
 *     POLL_SLICE_MS, checking the cancel flag; no progress for idleMs ends the job (ETIMEDOUT).
 *   - sendfileCancel(job) ends it at the next slice (ECANCELED). done(errorCode|null, bytesSent) runs
 *     exactly once on the JS thread; errorCode is an errno name ("EPIPE", "ESHORT" = file ended
 *     early, "ECANCELED", "ETIMEDOUT", ...).
 * Jobs are bounded by `length` and the idle timeout; MAX_JOBS caps how many run at once (the
 * caller falls back to copying when it is reached).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

#include "native.h"

#define POLL_SLICE_MS 200
#define MAX_JOBS 1024
/* One sendfile(2) call moves at most this much (Linux caps a call at 0x7ffff000 anyway). */
#define CALL_MAX ((size_t)64 << 20)

typedef struct job {
  int sock;
  int file;
  off_t offset;
  size_t length;
  int idle_ms;
  size_t sent;
  int err; /* errno, or -1 for "file ended early" */
  atomic_int cancel;
  atomic_int refs; /* the thread + the JS handle */
  napi_threadsafe_function tsfn; /* its environment's completion channel */
  napi_ref cb;                   /* done, released on the JS thread */
  struct job *next;              /* pool queue */
} job_t;

static atomic_int active_jobs = 0;

/* A close-on-exec duplicate (never inherited by ipmitool/ssh children). */
static int fcntl_dup(int64_t fd) {
  return fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
}

static void job_unref(job_t *job) {
  if (atomic_fetch_sub(&job->refs, 1) == 1) free(job);
}

static const char *err_name(int err) {
  switch (err) {
    case 0: return NULL;
    case -1: return "ESHORT";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ECANCELED: return "ECANCELED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case EAGAIN: return "EAGAIN";
    default: return "EUNKNOWN";
  }
}

static void run(job_t *job) {
  int idle = 0;
  while (job->sent < job->length) {
    if (atomic_load(&job->cancel)) {
      job->err = ECANCELED;
      return;
    }
    size_t want = job->length - job->sent;
    if (want > CALL_MAX) want = CALL_MAX;
    ssize_t n = sendfile(job->sock, job->file, &job->offset, want);
    if (n > 0) {
      job->sent += (size_t)n;
      idle = 0;
      continue;
    }
    if (n == 0) {
      job->err = -1; /* the file is shorter than the range: the caller cuts the response */
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      job->err = errno;
      return;
    }
    struct pollfd p = {.fd = job->sock, .events = POLLOUT};
    int r = poll(&p, 1, POLL_SLICE_MS);
    if (r < 0 && errno != EINTR) {
      job->err = errno;
      return;
    }
    if (r == 0) {
      idle += POLL_SLICE_MS;
      if (idle >= job->idle_ms) {
        job->err = ETIMEDOUT;
        return;
      }
    } else if (r > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) && !(p.revents & POLLOUT)) {
      job->err = (p.revents & POLLNVAL) ? EBADF : EPIPE;
      return;
    }
  }
}

/* ---- worker pool --------------------------------------------------------------------------
 * Threads are kept and reused: creating a thread and a threadsafe function per call cost more
 * than the sendfile of a 1 MiB range itself (measured: ~23 % of the server's CPU under wrk).
 * An idle worker takes the next job; when none is idle a new one starts (a stalled reader holds
 * its worker, so the pool must grow); workers above MIN_IDLE leave after IDLE_EXIT_S idle. */
#define MIN_IDLE 4
#define IDLE_EXIT_S 30

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static job_t *queue_head = NULL, *queue_tail = NULL;
static int queued = 0, idle_workers = 0, workers = 0;

static void *worker_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pool_mu);
  for (;;) {
    while (queue_head == NULL) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += IDLE_EXIT_S;
      idle_workers++;
      int r = pthread_cond_timedwait(&pool_cv, &pool_mu, &until);
      idle_workers--;
      if (r == ETIMEDOUT && queue_head == NULL && workers > MIN_IDLE) {
        workers--;
        pthread_mutex_unlock(&pool_mu);
        return NULL;
      }
    }
    job_t *job = queue_head;
    queue_head = job->next;
    if (queue_head == NULL) queue_tail = NULL;
    queued--;
    pthread_mutex_unlock(&pool_mu);

    run(job);
    close(job->sock);
    close(job->file);
    atomic_fetch_sub(&active_jobs, 1);
    napi_call_threadsafe_function(job->tsfn, job, napi_tsfn_blocking);

    pthread_mutex_lock(&pool_mu);
  }
}

/* Queues a job; starts a worker when every existing one is busy. 0 or an errno. */
static int submit(job_t *job) {
  pthread_mutex_lock(&pool_mu);
  job->next = NULL;
  if (queue_tail) queue_tail->next = job;
  else queue_head = job;
  queue_tail = job;
  queued++;
  int rc = 0;
  if (queued > idle_workers) {
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    rc = pthread_create(&tid, &attr, worker_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0) workers++;
    else if (workers > 0) rc = 0; /* an existing worker will get to it */
    else {
      queue_head = queue_tail = NULL; /* the job was the only entry */
      queued--;
    }
  }
  if (rc == 0) pthread_cond_signal(&pool_cv);
  pthread_mutex_unlock(&pool_mu);
  return rc;
}

/* ---- per-env completion channel ------------------------------------------------------------
 * One threadsafe function per JS environment, referenced only while jobs of that environment
 * are in flight (so an idle addon never keeps the process alive). */
typedef struct {
  napi_threadsafe_function tsfn;
  int in_flight; /* touched on the JS thread only */
} env_state_t;

/* On the JS thread: the job's done(errorCode | null, sent). */
static void call_js(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused;
  env_state_t *st = context;
  job_t *job = data;
  if (env != NULL) {
    if (--st->in_flight == 0) napi_unref_threadsafe_function(env, st->tsfn);
    napi_value cb, argv[2], undef;
    if (napi_get_reference_value(env, job->cb, &cb) == napi_ok && cb != NULL) {
      const char *name = err_name(job->err);
      if (name == NULL) napi_get_null(env, &argv[0]);
      else napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &argv[0]);
      napi_create_double(env, (double)job->sent, &argv[1]);
      napi_get_undefined(env, &undef);
      napi_call_function(env, undef, cb, 2, argv, NULL);
    }
    napi_delete_reference(env, job->cb);
  }
  job_unref(job);
}

static void env_state_free(void *data) {
  free(data); /* the environment is going away; its threadsafe function is finalized with it */
}

/* Created by init_sendfile for each environment that loads the addon, handed to js_sendfile as
 * its callback data (no instance data: that slot is shared with tftp.c). */
static env_state_t *env_state_new(napi_env env) {
  env_state_t *st = calloc(1, sizeof *st);
  if (st == NULL) return NULL;
  napi_value name;
  napi_create_string_utf8(env, "kickstand.sendfile", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, st, call_js, &st->tsfn) != napi_ok) {
    free(st);
    return NULL;
  }
  napi_unref_threadsafe_function(env, st->tsfn);
  napi_add_env_cleanup_hook(env, env_state_free, st);
  return st;
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  job_unref(data);
}

/* sendfileCancel(handle): ends the job at its next poll slice. */
static napi_value js_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_external(env, argv[0], &data) == napi_ok && data != NULL) atomic_store(&((job_t *)data)->cancel, 1);
  return NULL;
}

static napi_value throw_error(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static int get_int64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* sendfile(socketFd, fileFd, offset, length, idleMs, done) -> handle for sendfileCancel */
static napi_value js_sendfile(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || argc < 6)
    return throw_error(env, "EINVAL", "sendfile(socketFd, fileFd, offset, length, idleMs, done)");
  int64_t sock, file, offset, length, idle_ms;
  if (!get_int64(env, argv[0], &sock) || !get_int64(env, argv[1], &file) || !get_int64(env, argv[2], &offset) ||
      !get_int64(env, argv[3], &length) || !get_int64(env, argv[4], &idle_ms) || sock < 0 || file < 0 || offset < 0 ||
      length < 0 || idle_ms <= 0)
    return throw_error(env, "EINVAL", "sendfile: descriptors, offset and length must be non-negative integers");
  napi_valuetype t;
  if (napi_typeof(env, argv[5], &t) != napi_ok || t != napi_function) return throw_error(env, "EINVAL", "sendfile: done must be a function");
  env_state_t *st = data;
  if (atomic_fetch_add(&active_jobs, 1) >= MAX_JOBS) {
    atomic_fetch_sub(&active_jobs, 1);
    return throw_error(env, "EBUSY", "sendfile: too many transfers in progress");
  }

  job_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    atomic_fetch_sub(&active_jobs, 1);
    return throw_error(env, "ENOMEM", "sendfile: out of memory");
  }
  job->offset = (off_t)offset;
  job->length = (size_t)length;
  job->idle_ms = (int)(idle_ms > 0x7fffffff ? 0x7fffffff : idle_ms);
  job->tsfn = st->tsfn;
  atomic_init(&job->cancel, 0);
  atomic_init(&job->refs, 2);
  job->sock = fcntl_dup(sock);
  job->file = job->sock < 0 ? -1 : fcntl_dup(file);
  if (job->sock < 0 || job->file < 0) {
    int e = errno;
    if (job->sock >= 0) close(job->sock);
    free(job);
    atomic_fetch_sub(&active_jobs, 1);
    return throw_error(env, err_name(e), "sendfile: cannot duplicate a descriptor");
  }
  napi_value handle;
  if (napi_create_reference(env, argv[5], 1, &job->cb) != napi_ok ||
      napi_create_external(env, job, handle_finalize, NULL, &handle) != napi_ok) {
    close(job->sock);
    close(job->file);
    free(job);
    atomic_fetch_sub(&active_jobs, 1);
    return throw_error(env, "ENOMEM", "sendfile: cannot create the job handle");
  }
  if (st->in_flight++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
  int rc = submit(job);
  if (rc != 0) {
    /* No thread to run it: report the failure through the normal path (done runs once). */
    close(job->sock);
    close(job->file);
    job->err = rc;
    atomic_fetch_sub(&active_jobs, 1);
    napi_call_threadsafe_function(job->tsfn, job, napi_tsfn_blocking);
  }
  return handle;
}

/* sendfileNow(socketFd, fileFd, offset, length) -> bytes sent (0 when the socket is full).
 * On the JS thread, no waiting: the socket is non-blocking, so this stops at EAGAIN. A 1 MiB
 * range usually fits the socket buffer whole and needs no thread at all. The caller bounds
 * `length` (a page-cache miss reads from disk inside the call, as in nginx without aio).
 * Throws ESHORT when the file ends before the first byte, else the errno name. */
static napi_value js_sendfile_now(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int64_t sock, file, offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || !get_int64(env, argv[0], &sock) ||
      !get_int64(env, argv[1], &file) || !get_int64(env, argv[2], &offset) || !get_int64(env, argv[3], &length) || sock < 0 ||
      file < 0 || offset < 0 || length < 0)
    return throw_error(env, "EINVAL", "sendfileNow(socketFd, fileFd, offset, length): non-negative integers");
  off_t off = (off_t)offset;
  size_t sent = 0;
  while (sent < (size_t)length) {
    ssize_t n = sendfile((int)sock, (int)file, &off, (size_t)length - sent);
    if (n > 0) {
      sent += (size_t)n;
      continue;
    }
    if (n == 0) {
      if (sent == 0) return throw_error(env, "ESHORT", "file shrank while being served");
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    if (sent > 0) break; /* report what went; the next call meets the error again */
    return throw_error(env, err_name(errno), "sendfile failed");
  }
  napi_value r;
  napi_create_double(env, (double)sent, &r);
  return r;
}

static napi_value js_sendfile_jobs(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value n;
  napi_create_int32(env, atomic_load(&active_jobs), &n);
  return n;
}

napi_status init_sendfile(napi_env env, napi_value exports) {
  env_state_t *st = env_state_new(env);
  if (st == NULL) return napi_generic_failure;
  napi_property_descriptor props[] = {
      {"sendfile", NULL, js_sendfile, NULL, NULL, NULL, napi_default, st},
      {"sendfileNow", NULL, js_sendfile_now, NULL, NULL, NULL, napi_default, NULL},
      {"sendfileCancel", NULL, js_cancel, NULL, NULL, NULL, napi_default, NULL},
      {"sendfileJobs", NULL, js_sendfile_jobs, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
