/*
 * File-descriptor passing over Unix-domain sockets (SCM_RIGHTS), which Node cannot do on its own: OpenSSH's
 * connection multiplexing (PROTOCOL.mux) hands a client's stdin/stdout/stderr to the master this way.
 *
 * Kept to the system calls Node lacks: sendmsg/recvmsg with ancillary fds, dup, a plain connect(), O_NONBLOCK control, a write(2)
 * that keeps no reference to its buffer, and a libuv
 * poll watcher so the TypeScript side reads only when the socket is ready. Also pipe(2) with a chosen capacity, which a
 * session's output comes through (Node's own child pipes are socketpairs it reads into a new buffer every time). Built against Node-API, so one
 * build serves every Node version.
 */
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ: before any header */
#define NAPI_VERSION 4
#define ADDON_NAME "fdpass"
#include "tether_addon.h"
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>

/* More fds than this in one message are closed unread: PROTOCOL.mux never sends more than three. */
#define MAX_FDS 8

/* Throws an Error whose message reads like Node's ("sendmsg: Broken pipe") and whose code is "EPIPE". */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char text[160];
  napi_value message, code, error;
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static int get_int(napi_env env, napi_value value, int32_t *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

/* sendmsg(fd, buffer, fds): bytes written, or -1 when the socket would block. */
static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd;
  void *data;
  size_t length;
  uint32_t nfds = 0;
  int fds[MAX_FDS];
  char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "sendmsg");
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  if (argc > 2) {
    CHECK(napi_get_array_length(env, argv[2], &nfds));
    if (nfds > MAX_FDS) return throw_errno(env, EINVAL, "sendmsg");
    for (uint32_t i = 0; i < nfds; i++) {
      napi_value element;
      CHECK(napi_get_element(env, argv[2], i, &element));
      if (!get_int(env, element, &fds[i])) return throw_errno(env, EBADF, "sendmsg");
    }
  }
  struct iovec iov = { .iov_base = data, .iov_len = length };
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do n = sendmsg(fd, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = -1;
  else if (n < 0) return throw_errno(env, errno, "sendmsg");
  CHECK(napi_create_int32(env, (int32_t)n, &result));
  return result;
}

/* recvmsg(fd, buffer): [bytes read, ...fds received], 0 bytes at end of stream, or null when it would block. */
static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, element;
  int32_t fd;
  void *data;
  size_t length;
  char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "recvmsg");
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  struct iovec iov = { .iov_base = data, .iov_len = length };
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  if (n < 0) return throw_errno(env, errno, "recvmsg");
  CHECK(napi_create_array(env, &result));
  CHECK(napi_create_int32(env, (int32_t)n, &element));
  CHECK(napi_set_element(env, result, 0, element));
  uint32_t count = 1;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *fds = (int *)CMSG_DATA(cmsg);
    for (size_t i = 0; i < nfds; i++) {
      CHECK(napi_create_int32(env, fds[i], &element));
      CHECK(napi_set_element(env, result, count++, element));
    }
  }
  return result;
}

/* setBlocking(fd, blocking): sets or clears O_NONBLOCK; returns whether the fd was non-blocking before. */
static napi_value js_set_blocking(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd;
  bool blocking;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "fcntl");
  CHECK(napi_get_value_bool(env, argv[1], &blocking));
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return throw_errno(env, errno, "fcntl");
  int wanted = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) < 0) return throw_errno(env, errno, "fcntl");
  CHECK(napi_get_boolean(env, (flags & O_NONBLOCK) != 0, &result));
  return result;
}

/*
 * setSendBuffer(fd, bytes): asks for a socket send buffer of `bytes` (SO_SNDBUF, capped by the kernel at
 * net.core.wmem_max); returns the size the kernel then reports.
 */
static napi_value js_set_send_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd, bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &bytes)) return throw_errno(env, EINVAL, "setsockopt");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) < 0) return throw_errno(env, errno, "setsockopt");
  int size = 0;
  socklen_t length = sizeof size;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) < 0) return throw_errno(env, errno, "getsockopt");
  CHECK(napi_create_int32(env, size, &result));
  return result;
}

/*
 * setPipeSize(fd, bytes): asks for a pipe capacity of `bytes` (F_SETPIPE_SZ; an unprivileged process may go up
 * to /proc/sys/fs/pipe-max-size); returns the capacity the kernel then reports. Throws EBADF for a non-pipe.
 */
static napi_value js_set_pipe_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd, bytes;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &bytes)) return throw_errno(env, EINVAL, "fcntl");
  int size = fcntl(fd, F_SETPIPE_SZ, bytes);
  if (size < 0) return throw_errno(env, errno, "fcntl");
  CHECK(napi_create_int32(env, size, &result));
  return result;
}

/* dup(fd): a new descriptor for the same open file, close-on-exec. */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "dup");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return throw_errno(env, errno, "dup");
  CHECK(napi_create_int32(env, copy, &result));
  return result;
}

/* connectUnix(path): a connected, non-blocking stream socket (a local connect completes at once or fails). */
static napi_value js_connect_unix(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  struct sockaddr_un addr;
  size_t length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &length) != napi_ok)
    return throw_errno(env, EINVAL, "connect");
  if (length >= sizeof addr.sun_path - 1) return throw_errno(env, ENAMETOOLONG, "connect");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr); while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "connect");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/*
 * pipe(capacity): [read end, write end], both close-on-exec and blocking (libuv makes the end it opens
 * non-blocking; the program's end must stay as programs expect). The capacity is asked of the kernel
 * (F_SETPIPE_SZ) and may be refused beyond /proc/sys/fs/pipe-max-size: the pipe then keeps its own.
 */
static napi_value js_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, end;
  int32_t capacity = 0;
  int fds[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1 && !get_int(env, argv[0], &capacity)) return throw_errno(env, EINVAL, "pipe");
  if (pipe2(fds, O_CLOEXEC) < 0) return throw_errno(env, errno, "pipe");
  if (capacity > 0) (void)fcntl(fds[0], F_SETPIPE_SZ, capacity);
  CHECK(napi_create_array_with_length(env, 2, &result));
  for (uint32_t i = 0; i < 2; i++) {
    CHECK(napi_create_int32(env, fds[i], &end));
    CHECK(napi_set_element(env, result, i, end));
  }
  return result;
}

/*
 * write(fd, data[, head]): bytes written (of head and data together, head first), or -1 when the descriptor
 * is non-blocking and full (EAGAIN). A client's output is written this way straight from the buffer it was
 * decrypted in (issue 17): libuv's own writes keep a reference to what they could not write at once, which
 * that reused buffer cannot allow. `head` is a frame header that goes in the same writev(2).
 */
static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd;
  struct iovec parts[2];
  int count = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "write");
  if (argc >= 3) {
    napi_valuetype type;
    CHECK(napi_typeof(env, argv[2], &type));
    if (type != napi_undefined) {
      CHECK(napi_get_buffer_info(env, argv[2], &parts[0].iov_base, &parts[0].iov_len));
      count = 1;
    }
  }
  CHECK(napi_get_buffer_info(env, argv[1], &parts[count].iov_base, &parts[count].iov_len));
  count += 1;
  ssize_t n;
  do n = writev(fd, parts, count); while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return throw_errno(env, errno, "write");
  CHECK(napi_create_int32(env, n < 0 ? -1 : (int32_t)n, &result));
  return result;
}

/* Most buffers writev(fd, parts) takes at once: a read's worth of channel packets. */
#define MAX_WRITE_PARTS 64

/*
 * writev(fd, parts): write(2) of several buffers in one writev(2), as write() above: bytes written, or -1
 * when the non-blocking descriptor is full. The channel packets of one socket read leave together this way
 * (connection/descriptor-writes.ts), waking the reader once.
 */
static napi_value js_writev(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, element;
  int32_t fd;
  uint32_t count;
  bool is_array;
  struct iovec parts[MAX_WRITE_PARTS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "writev");
  CHECK(napi_is_array(env, argv[1], &is_array));
  if (!is_array) return throw_errno(env, EINVAL, "writev");
  CHECK(napi_get_array_length(env, argv[1], &count));
  if (count == 0 || count > MAX_WRITE_PARTS) return throw_errno(env, EINVAL, "writev");
  for (uint32_t i = 0; i < count; i++) {
    CHECK(napi_get_element(env, argv[1], i, &element));
    CHECK(napi_get_buffer_info(env, element, &parts[i].iov_base, &parts[i].iov_len));
  }
  ssize_t n;
  do n = writev(fd, parts, (int)count); while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return throw_errno(env, errno, "writev");
  CHECK(napi_create_int32(env, n < 0 ? -1 : (int32_t)n, &result));
  return result;
}

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int closing;
} Poller;

static void on_poll(uv_poll_t *handle, int status, int events) {
  Poller *poller = (Poller *)handle->data;
  napi_env env = poller->env;
  napi_handle_scope scope;
  napi_value callback, recv, argv[2];
  if (poller->closing) return;
  napi_open_handle_scope(env, &scope);
  napi_get_reference_value(env, poller->callback, &callback);
  napi_get_global(env, &recv);
  napi_create_int32(env, status, &argv[0]);
  napi_create_int32(env, events, &argv[1]);
  /* make_callback, not call_function: promises settled in the callback run their reactions right after. */
  if (napi_make_callback(env, poller->context, recv, callback, 2, argv, NULL) == napi_pending_exception) {
    /* An exception thrown by the callback goes where any uncaught exception goes. */
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static void on_close(uv_handle_t *handle) {
  free(handle->data);
}

static Poller *get_poller(napi_env env, napi_value value) {
  Poller *poller = NULL;
  if (napi_get_value_external(env, value, (void **)&poller) != napi_ok || poller == NULL || poller->closing) {
    napi_throw_error(env, NULL, "fdpass: poller is closed");
    return NULL;
  }
  return poller;
}

/* pollOpen(fd, callback(status, events)): a watcher handle, idle until pollStart. */
static napi_value js_poll_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, name;
  int32_t fd;
  uv_loop_t *loop;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_errno(env, EINVAL, "poll");
  CHECK(napi_get_uv_event_loop(env, &loop));
  Poller *poller = calloc(1, sizeof *poller);
  if (poller == NULL) return throw_errno(env, ENOMEM, "poll");
  int err = uv_poll_init(loop, &poller->handle, fd);
  if (err != 0) {
    free(poller);
    return throw_errno(env, -err, "poll");
  }
  poller->handle.data = poller;
  poller->env = env;
  CHECK(napi_create_reference(env, argv[1], 1, &poller->callback));
  CHECK(napi_create_string_utf8(env, "fdpass.poll", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &poller->context));
  CHECK(napi_create_external(env, poller, NULL, NULL, &result));
  return result;
}

/* pollStart(handle, events): 1 readable, 2 writable (UV_READABLE | UV_WRITABLE). */
static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t events;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Poller *poller = get_poller(env, argv[0]);
  if (poller == NULL || !get_int(env, argv[1], &events)) return NULL;
  int err = events == 0 ? uv_poll_stop(&poller->handle) : uv_poll_start(&poller->handle, events, on_poll);
  if (err != 0) return throw_errno(env, -err, "poll");
  return NULL;
}

/* pollClose(handle): stops watching for good; the fd itself stays open (the caller closes it). */
static napi_value js_poll_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Poller *poller = get_poller(env, argv[0]);
  if (poller == NULL) return NULL;
  poller->closing = 1;
  napi_delete_reference(env, poller->callback);
  napi_async_destroy(env, poller->context);
  uv_close((uv_handle_t *)&poller->handle, on_close);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    ADDON_FUNCTION("sendmsg", js_sendmsg),
    ADDON_FUNCTION("recvmsg", js_recvmsg),
    ADDON_FUNCTION("dup", js_dup),
    ADDON_FUNCTION("connectUnix", js_connect_unix),
    ADDON_FUNCTION("setBlocking", js_set_blocking),
    ADDON_FUNCTION("setSendBuffer", js_set_send_buffer),
    ADDON_FUNCTION("setPipeSize", js_set_pipe_size),
    ADDON_FUNCTION("pipe", js_pipe),
    ADDON_FUNCTION("write", js_write),
    ADDON_FUNCTION("writev", js_writev),
    ADDON_FUNCTION("pollOpen", js_poll_open),
    ADDON_FUNCTION("pollStart", js_poll_start),
    ADDON_FUNCTION("pollClose", js_poll_close),
  };
  CHECK(DEFINE_FUNCTIONS(env, exports, properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
