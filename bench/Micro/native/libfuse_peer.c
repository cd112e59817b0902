// The libfuse side of the protocol micro benchmarks: the same fixed-data filesystem as FixedDataFs.cs, written
// against libfuse's low-level API, served by libfuse's own receive and process loop over a custom I/O in memory.
// Each call copies one request in (as the kernel's read of /dev/fuse would), lets libfuse parse and dispatch it,
// and copies the reply out (as the kernel's writev would). Built by the bench (NativePeers.cs) against the
// system's libfuse3; the request bytes come from the C# side, so both engines see the same requests.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_INO 2
#define DIRECTORY_ENTRIES 32
#define PATTERN_LENGTH (1 << 20)

struct peer {
    struct fuse_session *session;
    struct fuse_buf input;         // libfuse's receive buffer, kept across calls as its own loop keeps it
    const uint8_t *request;        // the request the next read hands over
    size_t request_length;
    uint8_t *reply;                // where the last reply was copied
    size_t reply_length;
    uint8_t *pattern;              // what every file reads as
    uint8_t *read_buffer;          // where a READ's data is placed before the reply (as a read from storage would)
    uint8_t *dir_buffer;           // where READDIRPLUS builds its entries
    char names[DIRECTORY_ENTRIES][16];
};

static void fill_file_attr(struct stat *st, fuse_ino_t ino)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    st->st_size = PATTERN_LENGTH;
    st->st_blocks = PATTERN_LENGTH / 512;
    st->st_blksize = 4096;
}

/// Entries carry the 1 s timeouts Fuselage's coherency policy gives them by default (LOOKUP and READDIRPLUS alike).
static void fill_entry(struct fuse_entry_param *e, fuse_ino_t ino)
{
    memset(e, 0, sizeof *e);
    e->ino = ino;
    e->attr_timeout = 1.0;
    e->entry_timeout = 1.0;
    fill_file_attr(&e->attr, ino);
}

static void peer_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent; (void)name;
    struct fuse_entry_param e;
    fill_entry(&e, FILE_INO);
    fuse_reply_entry(req, &e);
}

static void peer_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    struct stat st;
    if (ino == FUSE_ROOT_ID) {
        memset(&st, 0, sizeof st);
        st.st_ino = ino;
        st.st_mode = S_IFDIR | 0755;
        st.st_nlink = 2;
    } else fill_file_attr(&st, ino);
    fuse_reply_attr(req, &st, 1.0);
}

static void peer_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)ino; (void)fi;
    struct peer *p = fuse_req_userdata(req);
    size_t start = (size_t)offset % PATTERN_LENGTH;
    size_t length = size < PATTERN_LENGTH - start ? size : PATTERN_LENGTH - start;
    memcpy(p->read_buffer, p->pattern + start, length);
    fuse_reply_buf(req, (const char *)p->read_buffer, length);
}

static void peer_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)ino; (void)buf; (void)offset; (void)fi;
    fuse_reply_write(req, size);
}

static void peer_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi)
{
    (void)ino; (void)fi;
    struct peer *p = fuse_req_userdata(req);
    size_t used = 0;
    for (int i = (int)offset; i < DIRECTORY_ENTRIES; i++) {
        struct fuse_entry_param e;
        fill_entry(&e, FILE_INO + (fuse_ino_t)i);
        size_t length = fuse_add_direntry_plus(req, (char *)p->dir_buffer + used, size - used, p->names[i], &e, i + 1);
        if (length > size - used) break;
        used += length;
    }
    fuse_reply_buf(req, (const char *)p->dir_buffer, used);
}

static const struct fuse_lowlevel_ops peer_ops = {
    .lookup = peer_lookup,
    .getattr = peer_getattr,
    .read = peer_read,
    .write = peer_write,
    .readdirplus = peer_readdirplus,
};

static ssize_t peer_io_read(int fd, void *buf, size_t buf_len, void *userdata)
{
    (void)fd;
    struct peer *p = userdata;
    if (p->request == NULL) { errno = EAGAIN; return -1; }
    if (p->request_length > buf_len) { errno = EINVAL; return -1; }
    memcpy(buf, p->request, p->request_length);
    p->request = NULL;
    return (ssize_t)p->request_length;
}

static ssize_t peer_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
    (void)fd;
    struct peer *p = userdata;
    size_t length = 0;
    for (int i = 0; i < count; i++) {
        memcpy(p->reply + length, iov[i].iov_base, iov[i].iov_len);
        length += iov[i].iov_len;
    }
    p->reply_length = length;
    return (ssize_t)length;
}

static const struct fuse_custom_io peer_io = { .read = peer_io_read, .writev = peer_io_writev };

void peer_destroy(struct peer *p);

/// A session with no mount, reading from and writing to memory. NULL on failure.
struct peer *peer_create(void)
{
    struct peer *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    // Page-aligned, as the Fuselage side's buffers are (NativeSlab in FixedDataFs.cs and InMemoryKernel.cs): a large copy's speed depends on alignment.
    if (posix_memalign((void **)&p->pattern, 4096, PATTERN_LENGTH) || posix_memalign((void **)&p->read_buffer, 4096, PATTERN_LENGTH)
        || posix_memalign((void **)&p->dir_buffer, 4096, PATTERN_LENGTH) || posix_memalign((void **)&p->reply, 4096, 2 * PATTERN_LENGTH)) {
        peer_destroy(p);
        return NULL;
    }
    for (int i = 0; i < PATTERN_LENGTH; i++) p->pattern[i] = (uint8_t)(i * 31);
    for (int i = 0; i < DIRECTORY_ENTRIES; i++) snprintf(p->names[i], sizeof p->names[i], "file-%04d.dat", i);

    char *argv[] = { "libfuse-peer", NULL };
    struct fuse_args args = FUSE_ARGS_INIT(1, argv);
    p->session = fuse_session_new(&args, &peer_ops, sizeof peer_ops, p);
    if (p->session == NULL) { peer_destroy(p); return NULL; }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC); // libfuse wants a descriptor; the custom I/O never uses it
    if (fd < 0 || fuse_session_custom_io(p->session, &peer_io, fd) != 0) {
        if (fd >= 0) close(fd);
        peer_destroy(p);
        return NULL;
    }
    return p;
}

/// Serves one request as libfuse's loop does (receive, then process). Returns the reply's error field, 1 when the
/// request had no reply, or -1000 - n when libfuse's receive failed with n.
int peer_call(struct peer *p, const uint8_t *request, int length)
{
    p->request = request;
    p->request_length = (size_t)length;
    p->reply_length = 0;
    int received = fuse_session_receive_buf(p->session, &p->input);
    if (received <= 0) return -1000 + received;
    fuse_session_process_buf(p->session, &p->input);
    if (p->reply_length < 16) return 1;
    int32_t error;
    memcpy(&error, p->reply + 4, sizeof error);
    return error;
}

/// Copies the last reply into destination (up to capacity bytes); returns its length.
int peer_last_reply(struct peer *p, uint8_t *destination, int capacity)
{
    size_t n = p->reply_length < (size_t)capacity ? p->reply_length : (size_t)capacity;
    memcpy(destination, p->reply, n);
    return (int)p->reply_length;
}

void peer_destroy(struct peer *p)
{
    if (p == NULL) return;
    if (p->session) fuse_session_destroy(p->session);
    free(p->input.mem);
    free(p->pattern);
    free(p->read_buffer);
    free(p->dir_buffer);
    free(p->reply);
    free(p);
}
