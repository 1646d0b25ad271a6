#define _GNU_SOURCE 1
#include "source.h"

#include "frame.h"
#include "jpeg.h"
#include "png.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FOLDER_MAX_FILES 4096
#define FOLDER_NAME_MAX 255
/* Reading this much of a file finds its SOF marker unless its metadata is huge. */
#define SOF_PREFIX ((size_t)1024 * 1024)
#define PATTERN_WIDTH 160
#define PATTERN_HEIGHT 120
#define V4L2_BUFFERS 4
#define V4L2_WIDTH 640
#define V4L2_HEIGHT 480

enum source_kind { KIND_FOLDER, KIND_PATTERN, KIND_V4L2 };

struct v4l2_mapping {
    void *start;
    size_t length;
};

struct source {
    enum source_kind kind;
    unsigned codec, width, height;
    size_t max_payload;
    char description[PATH_MAX + 64];
    /* folder */
    char folder[PATH_MAX];
    char **names;
    size_t count, next;
    /* pattern */
    uint8_t *rgb;
    uint32_t frame_number;
    /* camera */
    int fd;
    bool streaming;
    struct v4l2_mapping maps[V4L2_BUFFERS];
    unsigned buffers;
};

/* dir/name into out; -1 when it does not fit. */
static int join_path(char *out, size_t cap, const char *dir, const char *name) {
    size_t d = strlen(dir), n = strlen(name);
    if (d + 1 + n + 1 > cap) return -1;
    memcpy(out, dir, d);
    out[d] = '/';
    memcpy(out + d + 1, name, n + 1);
    return 0;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_jpeg_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Reads at most `cap` bytes of `path` into buf; *size gets the file's size. */
static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *got, size_t *size, char *err,
                     size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    *size = (size_t)st.st_size;
    size_t want = *size < cap ? *size : cap, have = 0;
    while (have < want) {
        ssize_t n = read(fd, buf + have, want - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
    }
    close(fd);
    *got = have;
    return 0;
}

static const char *jpeg_problem(enum jpeg_result r) {
    switch (r) {
    case JPEG_NOT_JPEG: return "is not a JPEG (no SOI marker)";
    case JPEG_TRUNCATED: return "ends before its frame header (SOF marker)";
    case JPEG_MALFORMED: return "is not a well-formed JPEG (no usable SOF marker)";
    case JPEG_OK: break;
    }
    return "is fine";
}

/* The size of one JPEG file, reading only what it takes. */
static int jpeg_file_size(const char *path, unsigned *width, unsigned *height, size_t *file_size, char *err,
                          size_t errlen) {
    uint8_t *buf = malloc(SOF_PREFIX);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t got, size;
    int result = -1;
    if (read_file(path, buf, SOF_PREFIX, &got, &size, err, errlen) == 0) {
        enum jpeg_result r = jpeg_dimensions(buf, got, width, height);
        if (r == JPEG_TRUNCATED && size > got && size <= SOURCE_MAX_PAYLOAD) {
            uint8_t *whole = realloc(buf, size);
            if (whole != NULL) {
                buf = whole;
                if (read_file(path, buf, size, &got, &size, err, errlen) == 0)
                    r = jpeg_dimensions(buf, got, width, height);
            }
        }
        if (size == 0 || size > SOURCE_MAX_PAYLOAD)
            snprintf(err, errlen, "%s has %zu bytes; a frame holds 1 to %zu", path, size, SOURCE_MAX_PAYLOAD);
        else if (r != JPEG_OK)
            snprintf(err, errlen, "%s %s", path, jpeg_problem(r));
        else if (*width > 16384 || *height > 16384)
            snprintf(err, errlen, "%s is %ux%u; at most 16384x16384 can be announced", path, *width, *height);
        else {
            *file_size = size;
            result = 0;
        }
    }
    free(buf);
    return result;
}

static struct source *open_folder(struct source *s, const char *path, char *err, size_t errlen) {
    if (strlen(path) >= sizeof s->folder - FOLDER_NAME_MAX - 2) {
        snprintf(err, errlen, "the folder path is too long");
        return NULL;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        snprintf(err, errlen, "--source %s: %s (give a folder of .jpg files, 'pattern' or /dev/videoN)", path,
                 strerror(errno));
        return NULL;
    }
    snprintf(s->folder, sizeof s->folder, "%s", path);
    size_t capacity = 0;
    struct dirent *entry;
    int failed = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.' || !is_jpeg_name(entry->d_name)) continue;
        if (s->count == FOLDER_MAX_FILES) {
            snprintf(err, errlen, "%s holds more than %d JPEG files", path, FOLDER_MAX_FILES);
            failed = 1;
            break;
        }
        if (s->count == capacity) {
            size_t grown = capacity == 0 ? 16 : capacity * 2;
            char **names = realloc(s->names, grown * sizeof *names);
            if (names == NULL) {
                failed = 1;
                snprintf(err, errlen, "out of memory");
                break;
            }
            s->names = names;
            capacity = grown;
        }
        char *name = strdup(entry->d_name);
        if (name == NULL) {
            failed = 1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        s->names[s->count++] = name; /* freed by source_close */
    }
    closedir(dir);
    if (failed) return NULL;
    if (s->count == 0) {
        snprintf(err, errlen, "%s holds no .jpg or .jpeg files", path);
        return NULL;
    }
    qsort(s->names, s->count, sizeof *s->names, compare_names);
    /* Every file must be a JPEG of the same size: the stream announces one size. */
    for (size_t i = 0; i < s->count; i++) {
        char file[PATH_MAX];
        if (join_path(file, sizeof file, s->folder, s->names[i]) != 0) {
            snprintf(err, errlen, "the path of %s is too long", s->names[i]);
            return NULL;
        }
        unsigned w, h;
        size_t size;
        if (jpeg_file_size(file, &w, &h, &size, err, errlen) != 0) return NULL;
        if (i == 0) {
            s->width = w, s->height = h;
        } else if (w != s->width || h != s->height) {
            snprintf(err, errlen, "all pictures must have one size: %s is %ux%u, %s is %ux%u", s->names[0],
                     s->width, s->height, s->names[i], w, h);
            return NULL;
        }
        if (size > s->max_payload) s->max_payload = size;
    }
    /* Files may grow a little before they are sent; allow up to the frame limit. */
    s->max_payload = s->max_payload * 2 < SOURCE_MAX_PAYLOAD ? s->max_payload * 2 : SOURCE_MAX_PAYLOAD;
    s->codec = FRAME_CODEC_JPEG;
    snprintf(s->description, sizeof s->description, "%zu JPEG file%s from %s (%ux%u)", s->count,
             s->count == 1 ? "" : "s", path, s->width, s->height);
    return s;
}

static struct source *open_pattern(struct source *s, char *err, size_t errlen) {
    s->width = PATTERN_WIDTH, s->height = PATTERN_HEIGHT;
    s->rgb = malloc((size_t)PATTERN_WIDTH * PATTERN_HEIGHT * 3);
    if (s->rgb == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->codec = FRAME_CODEC_PNG;
    s->max_payload = png_encoded_size(PATTERN_WIDTH, PATTERN_HEIGHT);
    snprintf(s->description, sizeof s->description, "a generated test pattern (PNG, %ux%u)", s->width,
             s->height);
    return s;
}

static int xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do r = ioctl(fd, request, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

/* A capture buffer of the memory-mapped kind, to query, queue or dequeue (index `index`). */
static struct v4l2_buffer capture_buffer(unsigned index) {
    struct v4l2_buffer buf;
    memset(&buf, 0, sizeof buf);
    buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buf.memory = V4L2_MEMORY_MMAP;
    buf.index = index;
    return buf;
}

static struct source *open_camera(struct source *s, const char *path, char *err, size_t errlen) {
    s->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, errlen, "cannot open the camera %s: %s", path, strerror(errno));
        return NULL;
    }
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(s->fd, VIDIOC_QUERYCAP, &cap) != 0) {
        snprintf(err, errlen, "%s is not a V4L2 device: %s", path, strerror(errno));
        return NULL;
    }
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
        snprintf(err, errlen, "%s cannot capture video by streaming I/O", path);
        return NULL;
    }
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = V4L2_WIDTH;
    fmt.fmt.pix.height = V4L2_HEIGHT;
    fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(s->fd, VIDIOC_S_FMT, &fmt) != 0) {
        snprintf(err, errlen, "%s refuses the MJPEG format: %s", path, strerror(errno));
        return NULL;
    }
    if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG) {
        snprintf(err, errlen, "%s does not deliver MJPEG (it offers another format); this client sends JPEG only",
                 path);
        return NULL;
    }
    if (fmt.fmt.pix.width == 0 || fmt.fmt.pix.height == 0 || fmt.fmt.pix.width > 16384 ||
        fmt.fmt.pix.height > 16384) {
        snprintf(err, errlen, "%s reports an unusable size %ux%u", path, fmt.fmt.pix.width, fmt.fmt.pix.height);
        return NULL;
    }
    s->width = fmt.fmt.pix.width, s->height = fmt.fmt.pix.height;
    struct v4l2_requestbuffers req;
    memset(&req, 0, sizeof req);
    req.count = V4L2_BUFFERS;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (xioctl(s->fd, VIDIOC_REQBUFS, &req) != 0 || req.count < 2) {
        snprintf(err, errlen, "%s has no memory-mapped capture buffers: %s", path, strerror(errno));
        return NULL;
    }
    s->buffers = req.count < V4L2_BUFFERS ? req.count : V4L2_BUFFERS;
    size_t largest = 0;
    for (unsigned i = 0; i < s->buffers; i++) {
        struct v4l2_buffer buf = capture_buffer(i);
        if (xioctl(s->fd, VIDIOC_QUERYBUF, &buf) != 0) {
            snprintf(err, errlen, "%s: VIDIOC_QUERYBUF: %s", path, strerror(errno));
            return NULL;
        }
        void *start = mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, buf.m.offset);
        if (start == MAP_FAILED) {
            snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
            return NULL;
        }
        s->maps[i].start = start;
        s->maps[i].length = buf.length;
        if (buf.length > largest) largest = buf.length;
    }
    s->codec = FRAME_CODEC_JPEG;
    /* A frame may need the Huffman tables added (MJPEG leaves them out). */
    s->max_payload = largest + jpeg_huffman_segment_size();
    if (s->max_payload > SOURCE_MAX_PAYLOAD) s->max_payload = SOURCE_MAX_PAYLOAD;
    snprintf(s->description, sizeof s->description, "the camera %s (%.*s, MJPEG %ux%u)", path, 64,
             (const char *)cap.card, s->width, s->height);
    return s;
}

struct source *source_open(const char *spec, char *err, size_t errlen) {
    struct source *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = -1;
    struct source *opened;
    if (strcmp(spec, "pattern") == 0) {
        s->kind = KIND_PATTERN;
        opened = open_pattern(s, err, errlen);
    } else if (strncmp(spec, "/dev/video", 10) == 0) {
        s->kind = KIND_V4L2;
        opened = open_camera(s, spec, err, errlen);
    } else {
        s->kind = KIND_FOLDER;
        opened = open_folder(s, spec, err, errlen);
    }
    if (opened == NULL) source_close(s);
    return opened;
}

unsigned source_codec(const struct source *s) { return s->codec; }
unsigned source_width(const struct source *s) { return s->width; }
unsigned source_height(const struct source *s) { return s->height; }
size_t source_max_payload(const struct source *s) { return s->max_payload; }
const char *source_description(const struct source *s) { return s->description; }
bool source_quality_adjustable(const struct source *s) {
    (void)s;
    return false;
}

int source_start(struct source *s, double fps, char *err, size_t errlen) {
    if (s->kind != KIND_V4L2 || s->streaming) return 0;
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof parm);
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (fps >= 1) {
        parm.parm.capture.timeperframe.numerator = 1000;
        parm.parm.capture.timeperframe.denominator = (uint32_t)(fps * 1000);
        (void)xioctl(s->fd, VIDIOC_S_PARM, &parm); /* a wish: drivers round or ignore it */
    }
    for (unsigned i = 0; i < s->buffers; i++) {
        struct v4l2_buffer buf = capture_buffer(i);
        if (xioctl(s->fd, VIDIOC_QBUF, &buf) != 0) {
            snprintf(err, errlen, "camera: VIDIOC_QBUF: %s", strerror(errno));
            return -1;
        }
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(s->fd, VIDIOC_STREAMON, &type) != 0) {
        snprintf(err, errlen, "camera: VIDIOC_STREAMON: %s", strerror(errno));
        return -1;
    }
    s->streaming = true;
    return 0;
}

static enum source_result next_file(struct source *s, uint8_t *out, size_t cap, size_t *len, char *err,
                                    size_t errlen) {
    /* A file that went bad since the start is skipped; give up after a whole round. */
    for (size_t tries = 0; tries < s->count; tries++) {
        const char *name = s->names[s->next];
        s->next = (s->next + 1) % s->count;
        char file[PATH_MAX];
        if (join_path(file, sizeof file, s->folder, name) != 0) continue;
        size_t got, size;
        if (read_file(file, out, cap, &got, &size, err, errlen) != 0) continue;
        unsigned w, h;
        if (size > cap || got != size) {
            snprintf(err, errlen, "%s changed: it now has %zu bytes", file, size);
            continue;
        }
        enum jpeg_result r = jpeg_dimensions(out, got, &w, &h);
        if (r != JPEG_OK) {
            snprintf(err, errlen, "%s %s", file, jpeg_problem(r));
            continue;
        }
        if (w != s->width || h != s->height) {
            snprintf(err, errlen, "%s is now %ux%u, not %ux%u as announced", file, w, h, s->width, s->height);
            continue;
        }
        *len = got;
        return SOURCE_FRAME;
    }
    return SOURCE_FAILED;
}

/* Colour bars with a white band moving across and the frame number in binary below. */
static enum source_result next_pattern(struct source *s, uint8_t *out, size_t cap, size_t *len, char *err,
                                       size_t errlen) {
    static const uint8_t bars[8][3] = {
        {235, 235, 235}, {235, 235, 16}, {16, 235, 235}, {16, 235, 16},
        {235, 16, 235},  {235, 16, 16},  {16, 16, 235},  {16, 16, 16},
    };
    unsigned w = s->width, h = s->height, band = (s->frame_number * 4) % w;
    for (unsigned y = 0; y < h; y++) {
        for (unsigned x = 0; x < w; x++) {
            uint8_t *p = s->rgb + ((size_t)y * w + x) * 3;
            if (y >= h - 12) {
                unsigned bit = x / (w / 16);
                int on = bit < 16 && ((s->frame_number >> (15 - bit)) & 1);
                memset(p, on ? 255 : 0, 3);
            } else if (x >= band && x < band + 8) {
                memset(p, 255, 3);
            } else {
                memcpy(p, bars[x * 8 / w], 3);
            }
        }
    }
    s->frame_number++;
    size_t n = png_encode_rgb(s->rgb, w, h, out, cap);
    if (n == 0) {
        snprintf(err, errlen, "the pattern does not fit its buffer");
        return SOURCE_FAILED;
    }
    *len = n;
    return SOURCE_FRAME;
}

static enum source_result next_camera(struct source *s, uint8_t *out, size_t cap, size_t *len, char *err,
                                      size_t errlen) {
    if (!s->streaming) return SOURCE_NOTHING;
    /* Take the newest filled buffer; give the older ones back at once. */
    struct v4l2_buffer newest;
    bool have = false;
    for (unsigned i = 0; i <= s->buffers; i++) {
        struct v4l2_buffer buf = capture_buffer(0);
        if (xioctl(s->fd, VIDIOC_DQBUF, &buf) != 0) {
            if (errno == EAGAIN) break;
            snprintf(err, errlen, "camera: VIDIOC_DQBUF: %s", strerror(errno));
            if (have) (void)xioctl(s->fd, VIDIOC_QBUF, &newest);
            return SOURCE_FAILED;
        }
        if (buf.index >= s->buffers) {
            snprintf(err, errlen, "camera: the driver returned buffer %u of %u", buf.index, s->buffers);
            return SOURCE_FAILED;
        }
        if (have) (void)xioctl(s->fd, VIDIOC_QBUF, &newest);
        newest = buf;
        have = true;
    }
    if (!have) return SOURCE_NOTHING;
    enum source_result result = SOURCE_NOTHING;
    size_t used = newest.bytesused;
    if (used > s->maps[newest.index].length) used = s->maps[newest.index].length;
    if ((newest.flags & V4L2_BUF_FLAG_ERROR) == 0 && used > 0 && used <= cap) {
        memcpy(out, s->maps[newest.index].start, used);
        /* Drivers may pad the buffer after EOI; JPEG decoders ignore what follows it. */
        if (jpeg_insert_huffman_tables(out, &used, cap) == 0) {
            *len = used;
            result = SOURCE_FRAME;
        }
    }
    if (xioctl(s->fd, VIDIOC_QBUF, &newest) != 0) {
        snprintf(err, errlen, "camera: VIDIOC_QBUF: %s", strerror(errno));
        return SOURCE_FAILED;
    }
    return result;
}

enum source_result source_next(struct source *s, uint8_t *out, size_t cap, size_t *len, char *err,
                               size_t errlen) {
    switch (s->kind) {
    case KIND_FOLDER: return next_file(s, out, cap, len, err, errlen);
    case KIND_PATTERN: return next_pattern(s, out, cap, len, err, errlen);
    case KIND_V4L2: return next_camera(s, out, cap, len, err, errlen);
    }
    return SOURCE_FAILED;
}

void source_close(struct source *s) {
    if (s == NULL) return;
    for (size_t i = 0; i < s->count; i++) free(s->names[i]);
    free(s->names);
    free(s->rgb);
    if (s->fd >= 0) {
        if (s->streaming) {
            enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            (void)xioctl(s->fd, VIDIOC_STREAMOFF, &type);
        }
        for (unsigned i = 0; i < V4L2_BUFFERS; i++)
            if (s->maps[i].start != NULL) munmap(s->maps[i].start, s->maps[i].length);
        close(s->fd);
    }
    free(s);
}
