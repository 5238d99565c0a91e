/*
 * The FUSE bridge: libfuse3's high-level (path) API served by JavaScript.
 *
 * libfuse runs its multi-threaded loop on threads of its own. Each operation it calls here
 * becomes a request: handed to the JavaScript dispatcher through a thread-safe function, it
 * waits on its own condition variable until JavaScript answers with `reply(request, result,
 * payload)`. JavaScript never blocks; a FUSE thread blocks only on its own request. What a
 * reply carries is copied into the request before the FUSE thread wakes, so no memory is
 * shared across threads while both run.
 *
 * Limits: a path is at most PATH_MAX bytes (the kernel's own), a read at most what the
 * kernel asked for, a readdir at most MAX_NAMES entries (JavaScript pages larger listings).
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <errno.h>
#include <fuse.h>
#include <limits.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Entries one readdir reply may carry: bounds the copy held per request. */
#define MAX_NAMES 1000000

enum op {
  OP_GETATTR, OP_READDIR, OP_OPEN, OP_CREATE, OP_READ, OP_WRITE, OP_FLUSH, OP_RELEASE,
  OP_FSYNC, OP_MKDIR, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_TRUNCATE, OP_CHMOD, OP_CHOWN,
  OP_UTIMENS, OP_STATFS, OP_SYMLINK, OP_READLINK, OP_LINK, OP_MKNOD, OP_COUNT
};

static const char *OP_NAMES[OP_COUNT] = {
  "getattr", "readdir", "open", "create", "read", "write", "flush", "release",
  "fsync", "mkdir", "unlink", "rmdir", "rename", "truncate", "chmod", "chown",
  "utimens", "statfs", "symlink", "readlink", "link", "mknod",
};

typedef struct request {
  enum op op;
  const char *path;
  const char *path2;
  int64_t a, b, c;
  double t1, t2;
  int has_fh;
  uint64_t fh;
  /* The process that asked: a new entry is made for it. */
  uid_t uid;
  gid_t gid;
  /* read: where the bytes go; write: the bytes. */
  char *buf;
  size_t size;
  struct stat *st;
  struct statvfs *sv;
  /* Filled by the reply. */
  int result;
  char **names;
  /* readdir: each name's attributes, when the kernel asked for them (readdirplus). */
  struct stat *stats;
  size_t count;
  int done;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
} request_t;

typedef struct mount {
  struct fuse *fuse;
  napi_threadsafe_function dispatch;
  pthread_t loop;
  /* Set once the loop was told to end, or has ended (then `fuse` is gone). */
  int exiting;
  int ended;
  /* Owners: the JavaScript handle and the dispatcher; the last to let go frees the mount. */
  int owners;
  pthread_mutex_t mutex;
} mount_t;

/* Drops one owner of `m`; frees it when none is left. */
static void release_mount(mount_t *m) {
  pthread_mutex_lock(&m->mutex);
  int left = --m->owners;
  pthread_mutex_unlock(&m->mutex);
  if (left == 0) {
    pthread_mutex_destroy(&m->mutex);
    free(m);
  }
}

static mount_t *current_mount(void) {
  return (mount_t *)fuse_get_context()->private_data;
}

/* Hands `r` to JavaScript and waits for its reply; returns the result (-errno on failure). */
static int call(request_t *r) {
  mount_t *m = current_mount();
  r->uid = fuse_get_context()->uid;
  r->gid = fuse_get_context()->gid;
  pthread_mutex_init(&r->mutex, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->done = 0;
  r->result = -EIO;
  if (napi_call_threadsafe_function(m->dispatch, r, napi_tsfn_blocking) != napi_ok) {
    r->result = -EIO;
  } else {
    pthread_mutex_lock(&r->mutex);
    while (!r->done) pthread_cond_wait(&r->cond, &r->mutex);
    pthread_mutex_unlock(&r->mutex);
  }
  pthread_mutex_destroy(&r->mutex);
  pthread_cond_destroy(&r->cond);
  return r->result;
}

static void with_fh(request_t *r, struct fuse_file_info *fi) {
  if (fi) {
    r->has_fh = 1;
    r->fh = fi->fh;
  }
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  request_t r = {.op = OP_GETATTR, .path = path, .st = st};
  with_fh(&r, fi);
  memset(st, 0, sizeof *st);
  return call(&r);
}

/*
 * Each entry comes with its attributes: with readdirplus the kernel takes them with the
 * names, so `ls -l` or `find` of a directory costs one request, not one per entry.
 */
static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)offset;
  request_t r = {.op = OP_READDIR, .path = path};
  with_fh(&r, fi);
  int result = call(&r);
  if (result >= 0) {
    int plus = (flags & FUSE_READDIR_PLUS) != 0 && r.stats != NULL;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    for (size_t i = 0; i < r.count; i++)
      fill(buf, r.names[i], plus ? &r.stats[i] : NULL, 0, plus ? FUSE_FILL_DIR_PLUS : 0);
    result = 0;
  }
  for (size_t i = 0; i < r.count; i++) free(r.names[i]);
  free(r.names);
  free(r.stats);
  return result;
}

static int op_open(const char *path, struct fuse_file_info *fi) {
  request_t r = {.op = OP_OPEN, .path = path, .a = fi->flags};
  int result = call(&r);
  if (result < 0) return result;
  fi->fh = (uint64_t)result;
  return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  request_t r = {.op = OP_CREATE, .path = path, .a = mode, .b = fi->flags};
  int result = call(&r);
  if (result < 0) return result;
  fi->fh = (uint64_t)result;
  return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t offset,
                   struct fuse_file_info *fi) {
  request_t r = {.op = OP_READ, .path = path, .buf = buf, .size = size, .a = offset};
  with_fh(&r, fi);
  return call(&r);
}

static int op_write(const char *path, const char *buf, size_t size, off_t offset,
                    struct fuse_file_info *fi) {
  request_t r = {.op = OP_WRITE, .path = path, .buf = (char *)buf, .size = size, .a = offset};
  with_fh(&r, fi);
  return call(&r);
}

static int op_flush(const char *path, struct fuse_file_info *fi) {
  request_t r = {.op = OP_FLUSH, .path = path};
  with_fh(&r, fi);
  return call(&r);
}

static int op_release(const char *path, struct fuse_file_info *fi) {
  request_t r = {.op = OP_RELEASE, .path = path};
  with_fh(&r, fi);
  return call(&r);
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  request_t r = {.op = OP_FSYNC, .path = path, .a = datasync};
  with_fh(&r, fi);
  return call(&r);
}

static int op_mkdir(const char *path, mode_t mode) {
  request_t r = {.op = OP_MKDIR, .path = path, .a = mode};
  return call(&r);
}

static int op_unlink(const char *path) {
  request_t r = {.op = OP_UNLINK, .path = path};
  return call(&r);
}

static int op_rmdir(const char *path) {
  request_t r = {.op = OP_RMDIR, .path = path};
  return call(&r);
}

static int op_rename(const char *from, const char *to, unsigned int flags) {
  request_t r = {.op = OP_RENAME, .path = from, .path2 = to, .a = flags};
  return call(&r);
}

/* symlink(2): `path` is the new link, `to` what it points at. */
static int op_symlink(const char *target, const char *path) {
  request_t r = {.op = OP_SYMLINK, .path = path, .path2 = target};
  return call(&r);
}

/* The reply's bytes are copied into `buf`, cut to `size - 1` and NUL-terminated. */
static int op_readlink(const char *path, char *buf, size_t size) {
  request_t r = {.op = OP_READLINK, .path = path, .buf = buf, .size = size};
  return call(&r);
}

static int op_link(const char *from, const char *to) {
  request_t r = {.op = OP_LINK, .path = from, .path2 = to};
  return call(&r);
}

/* `a` is the mode with its type bits (S_IFIFO, S_IFCHR...), `b` the device number. */
static int op_mknod(const char *path, mode_t mode, dev_t rdev) {
  request_t r = {.op = OP_MKNOD, .path = path, .a = mode, .b = (int64_t)rdev};
  return call(&r);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  request_t r = {.op = OP_TRUNCATE, .path = path, .a = size};
  with_fh(&r, fi);
  return call(&r);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  request_t r = {.op = OP_CHMOD, .path = path, .a = mode};
  with_fh(&r, fi);
  return call(&r);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  request_t r = {.op = OP_CHOWN, .path = path, .a = uid, .b = gid};
  with_fh(&r, fi);
  /* (uid_t)-1 means "leave it": passed on as -1. */
  r.a = uid == (uid_t)-1 ? -1 : (int64_t)uid;
  r.b = gid == (gid_t)-1 ? -1 : (int64_t)gid;
  return call(&r);
}

static double ms_of(const struct timespec *t, double now) {
  if (t->tv_nsec == UTIME_NOW) return now;
  if (t->tv_nsec == UTIME_OMIT) return -1;
  return (double)t->tv_sec * 1000.0 + (double)t->tv_nsec / 1e6;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  double now_ms = (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
  request_t r = {.op = OP_UTIMENS, .path = path};
  with_fh(&r, fi);
  r.t1 = tv ? ms_of(&tv[0], now_ms) : now_ms;
  r.t2 = tv ? ms_of(&tv[1], now_ms) : now_ms;
  return call(&r);
}

static int op_statfs(const char *path, struct statvfs *sv) {
  request_t r = {.op = OP_STATFS, .path = path, .sv = sv};
  memset(sv, 0, sizeof *sv);
  return call(&r);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  /* Inode numbers are the namespace's own: `ls -i` and hard-link checks see them. */
  cfg->use_ino = 1;
  return current_mount();
}

static const struct fuse_operations OPERATIONS = {
  .getattr = op_getattr, .readdir = op_readdir, .open = op_open, .create = op_create,
  .read = op_read, .write = op_write, .flush = op_flush, .release = op_release,
  .fsync = op_fsync, .mkdir = op_mkdir, .unlink = op_unlink, .rmdir = op_rmdir,
  .rename = op_rename, .truncate = op_truncate, .chmod = op_chmod, .chown = op_chown,
  .utimens = op_utimens, .statfs = op_statfs, .symlink = op_symlink,
  .readlink = op_readlink, .link = op_link, .mknod = op_mknod, .init = op_init,
};

/* --- JavaScript side ------------------------------------------------------------------- */

static void set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

/* Runs on the JavaScript thread: makes the request an object and calls the dispatcher. */
static void call_js(napi_env env, napi_value dispatch, void *context, void *data) {
  (void)context;
  request_t *r = (request_t *)data;
  if (r == NULL) {
    if (env == NULL) return;
    napi_value obj, undefined, ignored;
    napi_create_object(env, &obj);
    set_string(env, obj, "op", "exit");
    set_string(env, obj, "path", "");
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, dispatch, 1, &obj, &ignored);
    return;
  }
  if (env == NULL) {
    /* The mount is being torn down: answer so the FUSE thread can finish. */
    pthread_mutex_lock(&r->mutex);
    r->result = -EIO;
    r->done = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mutex);
    return;
  }
  napi_value obj, handle, undefined;
  napi_create_object(env, &obj);
  set_string(env, obj, "op", OP_NAMES[r->op]);
  set_string(env, obj, "path", r->path);
  if (r->path2) set_string(env, obj, "to", r->path2);
  set_number(env, obj, "a", (double)r->a);
  set_number(env, obj, "b", (double)r->b);
  set_number(env, obj, "t1", r->t1);
  set_number(env, obj, "t2", r->t2);
  set_number(env, obj, "fh", r->has_fh ? (double)r->fh : -1);
  set_number(env, obj, "size", (double)r->size);
  set_number(env, obj, "uid", (double)r->uid);
  set_number(env, obj, "gid", (double)r->gid);
  if (r->op == OP_WRITE) {
    napi_value data;
    void *copy;
    napi_create_buffer_copy(env, r->size, r->buf, &copy, &data);
    napi_set_named_property(env, obj, "data", data);
  }
  napi_create_external(env, r, NULL, NULL, &handle);
  napi_set_named_property(env, obj, "request", handle);
  napi_get_undefined(env, &undefined);
  napi_value ignored;
  if (napi_call_function(env, undefined, dispatch, 1, &obj, &ignored) != napi_ok) {
    /* The dispatcher threw: the exception is JavaScript's to report; the caller gets EIO. */
    pthread_mutex_lock(&r->mutex);
    r->result = -EIO;
    r->done = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mutex);
  }
}

static double number_at(napi_env env, napi_value array, uint32_t i) {
  napi_value v;
  double d = 0;
  if (napi_get_element(env, array, i, &v) == napi_ok) napi_get_value_double(env, v, &d);
  return d;
}

/*
 * Attributes from `a[at..at+10)`: mode, nlink, uid, gid, size, atime, mtime, ctime (ms), ino,
 * rdev.
 */
static void fill_stat(napi_env env, napi_value a, uint32_t at, struct stat *st) {
  double atime = number_at(env, a, at + 5), mtime = number_at(env, a, at + 6);
  double ctime_ = number_at(env, a, at + 7);
  st->st_mode = (mode_t)number_at(env, a, at + 0);
  st->st_nlink = (nlink_t)number_at(env, a, at + 1);
  st->st_uid = (uid_t)number_at(env, a, at + 2);
  st->st_gid = (gid_t)number_at(env, a, at + 3);
  st->st_size = (off_t)number_at(env, a, at + 4);
  st->st_blksize = 65536;
  st->st_blocks = (st->st_size + 511) / 512;
  st->st_atim.tv_sec = (time_t)(atime / 1000);
  st->st_atim.tv_nsec = (long)((atime - (double)st->st_atim.tv_sec * 1000) * 1e6);
  st->st_mtim.tv_sec = (time_t)(mtime / 1000);
  st->st_mtim.tv_nsec = (long)((mtime - (double)st->st_mtim.tv_sec * 1000) * 1e6);
  st->st_ctim.tv_sec = (time_t)(ctime_ / 1000);
  st->st_ctim.tv_nsec = (long)((ctime_ - (double)st->st_ctim.tv_sec * 1000) * 1e6);
  st->st_ino = (ino_t)number_at(env, a, at + 8);
  st->st_rdev = (dev_t)number_at(env, a, at + 9);
}

/* reply(request, result, payload?): answers one request and wakes its FUSE thread. */
static napi_value js_reply(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  request_t *r = NULL;
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || r == NULL) {
    napi_throw_type_error(env, NULL, "reply(request, result, payload?) needs a request");
    return NULL;
  }
  int32_t result = -EIO;
  napi_get_value_int32(env, argv[1], &result);
  int has_payload = 0;
  if (argc >= 3) {
    napi_valuetype type;
    napi_typeof(env, argv[2], &type);
    has_payload = type == napi_object;
  }
  if (result >= 0 && has_payload) {
    napi_value payload = argv[2];
    if (r->op == OP_GETATTR && r->st) {
      fill_stat(env, payload, 0, r->st);
    } else if (r->op == OP_STATFS && r->sv) {
      r->sv->f_bsize = r->sv->f_frsize = (unsigned long)number_at(env, payload, 0);
      r->sv->f_blocks = (fsblkcnt_t)number_at(env, payload, 1);
      r->sv->f_bfree = (fsblkcnt_t)number_at(env, payload, 2);
      r->sv->f_bavail = (fsblkcnt_t)number_at(env, payload, 3);
      r->sv->f_files = (fsfilcnt_t)number_at(env, payload, 4);
      r->sv->f_ffree = r->sv->f_favail = (fsfilcnt_t)number_at(env, payload, 5);
      r->sv->f_namemax = (unsigned long)number_at(env, payload, 6);
    } else if (r->op == OP_READ) {
      void *bytes = NULL;
      size_t length = 0;
      napi_get_buffer_info(env, payload, &bytes, &length);
      if (length > r->size) length = r->size;
      memcpy(r->buf, bytes, length);
      result = (int32_t)length;
    } else if (r->op == OP_READLINK && r->size > 0) {
      void *bytes = NULL;
      size_t length = 0;
      napi_get_buffer_info(env, payload, &bytes, &length);
      if (length > r->size - 1) length = r->size - 1;
      memcpy(r->buf, bytes, length);
      r->buf[length] = '\0';
      result = 0;
    } else if (r->op == OP_READDIR) {
      uint32_t count = 0;
      napi_get_array_length(env, payload, &count);
      if (count > MAX_NAMES) count = MAX_NAMES;
      /* Each element is [name, ...attributes] (fill_stat's order). */
      r->names = calloc(count ? count : 1, sizeof(char *));
      r->stats = calloc(count ? count : 1, sizeof(struct stat));
      for (uint32_t i = 0; r->names && r->stats && i < count; i++) {
        napi_value entry, v;
        size_t length = 0;
        napi_get_element(env, payload, i, &entry);
        napi_get_element(env, entry, 0, &v);
        napi_get_value_string_utf8(env, v, NULL, 0, &length);
        r->names[i] = malloc(length + 1);
        if (r->names[i]) napi_get_value_string_utf8(env, v, r->names[i], length + 1, &length);
        else r->names[i] = strdup("");
        fill_stat(env, entry, 1, &r->stats[i]);
        r->count = i + 1;
      }
    }
  }
  pthread_mutex_lock(&r->mutex);
  r->result = result;
  r->done = 1;
  pthread_cond_signal(&r->cond);
  pthread_mutex_unlock(&r->mutex);
  return NULL;
}

static void *run_loop(void *arg) {
  mount_t *m = (mount_t *)arg;
  /* API version 3.1's loop: one thread per request in flight, no cloned device fds. */
  fuse_loop_mt(m->fuse, 0);
  /* Only this thread touches the session from here: the loop's workers have been joined, and
     unmount() sees `ended` and leaves it alone. */
  pthread_mutex_lock(&m->mutex);
  m->exiting = 1;
  m->ended = 1;
  pthread_mutex_unlock(&m->mutex);
  fuse_unmount(m->fuse);
  fuse_destroy(m->fuse);
  m->fuse = NULL;
  /* A request of none: JavaScript hears that the mount has ended. */
  napi_call_threadsafe_function(m->dispatch, NULL, napi_tsfn_blocking);
  napi_release_threadsafe_function(m->dispatch, napi_tsfn_release);
  return NULL;
}

static void finalize_tsfn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_mount((mount_t *)data);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_mount((mount_t *)data);
}

/*
 * mount(mountpoint, options, dispatch): mounts and serves until unmounted; returns
 * a handle for `unmount`. `options` are libfuse's -o options, comma separated. Throws an
 * Error naming what failed.
 */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "mount(mountpoint, options, dispatch)");
    return NULL;
  }
  char mountpoint[PATH_MAX], options[4096];
  size_t length;
  if (napi_get_value_string_utf8(env, argv[0], mountpoint, sizeof mountpoint, &length) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], options, sizeof options, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "mountpoint and options must be strings");
    return NULL;
  }
  mount_t *m = calloc(1, sizeof *m);
  if (!m) {
    napi_throw_error(env, "ENOMEM", "no memory for a mount");
    return NULL;
  }
  pthread_mutex_init(&m->mutex, NULL);
  m->owners = 2;
  char *args_v[] = {"sandstore", "-o", options, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(options[0] ? 3 : 1, args_v);
  m->fuse = fuse_new(&args, &OPERATIONS, sizeof OPERATIONS, m);
  if (!m->fuse) {
    free(m);
    napi_throw_error(env, "EINVAL", "libfuse refused the mount options");
    return NULL;
  }
  if (fuse_mount(m->fuse, mountpoint) != 0) {
    fuse_destroy(m->fuse);
    free(m);
    napi_throw_error(env, "EIO", "libfuse could not mount there (is it an empty directory, and is /dev/fuse usable?)");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "sandstore-fuse", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, m, finalize_tsfn, NULL,
                                      call_js, &m->dispatch) != napi_ok) {
    fuse_unmount(m->fuse);
    fuse_destroy(m->fuse);
    free(m);
    napi_throw_error(env, "EIO", "could not make the dispatcher callable from FUSE threads");
    return NULL;
  }
  if (pthread_create(&m->loop, NULL, run_loop, m) != 0) {
    fuse_unmount(m->fuse);
    fuse_destroy(m->fuse);
    napi_release_threadsafe_function(m->dispatch, napi_tsfn_abort);
    /* No handle will own it: the dispatcher's release frees it. */
    release_mount(m);
    napi_throw_error(env, "EAGAIN", "could not start the FUSE loop's thread");
    return NULL;
  }
  pthread_detach(m->loop);
  napi_value handle;
  napi_create_external(env, m, finalize_handle, NULL, &handle);
  return handle;
}

/*
 * unmount(handle): tells the loop to end once the kernel lets go of the mount; the caller then
 * detaches it (fusermount3 -u -z), which wakes the loop's threads. Safe to call twice.
 */
static napi_value js_unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  mount_t *m = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&m) != napi_ok || !m) {
    napi_throw_type_error(env, NULL, "unmount(handle)");
    return NULL;
  }
  /* Under the lock: the loop's thread may be ending, and then `fuse` is no longer there. */
  pthread_mutex_lock(&m->mutex);
  if (!m->exiting) {
    m->exiting = 1;
    fuse_exit(m->fuse);
  }
  pthread_mutex_unlock(&m->mutex);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"unmount", NULL, js_unmount, NULL, NULL, NULL, napi_default, NULL},
    {"reply", NULL, js_reply, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
