/*
 * The customer's connection to the broker: the libwebsockets client, the protocol state
 * (hello, consent, streaming, stream.control, resume, redirect, ending) and the exit code.
 * Everything mutable lives in one `struct device`, which is the lws context's user data.
 */
#ifndef TANDEM_DEVICE_SESSION_H
#define TANDEM_DEVICE_SESSION_H

#include "args.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct source;

/* Exit codes (documented in the usage text and Tests/device/README.md). */
enum device_exit {
    EXIT_ENDED = 0,        /* the session ended normally */
    EXIT_INTERNAL = 1,     /* interrupted before joining, or an internal error */
    EXIT_USAGE = 2,        /* usage error */
    EXIT_CONNECTION = 3,   /* TLS, certificate or connection failure */
    EXIT_CODE_REFUSED = 4, /* unknown (4404), used (4409) or expired (4410) code */
    EXIT_THROTTLED = 5,    /* 4430 */
    EXIT_REFUSED = 6,      /* any other refusal */
    EXIT_LOST = 7,         /* lost and not resumed, or the end not confirmed */
};

#define DEVICE_OUTQ_MAX 32
#define DEVICE_LINE_MAX 128

enum device_phase {
    PHASE_IDLE,            /* no connection (before the first, or between resume attempts) */
    PHASE_CONNECTING,      /* TCP/TLS/WebSocket handshake */
    PHASE_WAITING_WELCOME, /* hello sent, waiting for session.joined / session.resumed */
    PHASE_LIVE,            /* in the session */
};

enum device_consent {
    CONSENT_PENDING,  /* not asked yet */
    CONSENT_ASKING,   /* the terminal prompt is open */
    CONSENT_GRANTED,
    CONSENT_DECLINED,
};

struct device_outmsg {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the message */
    size_t len;
};

struct device {
    struct options opt;
    struct server server; /* where we connect now (a redirect changes it) */
    struct source *source;
    FILE *notes;       /* progress lines: stdout, or stderr when annotations go to stdout */
    FILE *annotations; /* JSON lines, or NULL */
    bool annotations_failed;

    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct lws *wsi;
    struct lws *signal_wsi, *stdin_wsi;
    int signal_fd;
    bool destroying;

    /* session */
    enum device_phase phase;
    bool joined;   /* got session.joined once: from now on a drop is resumed */
    bool resuming; /* this connection's hello carries the resume token */
    char resume_token[160];
    char session_id[72];
    char agent[260];
    char mode[8]; /* "screen" or "camera" */
    bool recording;
    enum device_consent consent;
    bool consent_sent;
    bool stream_started; /* stream.start sent on this connection */
    bool paused;         /* the agent asked us to pause */
    double fps;          /* the current frame rate: --fps, or less when asked */
    uint32_t sequence;
    unsigned long frames_sent;
    unsigned long frames_received;
    bool end_requested, end_sent, session_ended, source_failed;
    int signals;
    int64_t last_keyframe_note_us;
    char line[DEVICE_LINE_MAX];
    size_t line_len;
    bool line_overflow;

    /* outgoing */
    struct device_outmsg outq[DEVICE_OUTQ_MAX];
    unsigned outq_head, outq_count;
    unsigned char *frame_buf;
    size_t frame_cap, frame_len;
    bool frame_ready;

    /* incoming */
    unsigned char *rx;
    size_t rx_cap, rx_len, rx_total;
    bool rx_active, rx_binary, rx_overflow;

    /* what the last connection ended with */
    int close_code;
    char close_reason[128];
    char error_code[64];
    char error_message[512];
    long retry_after;
    char redirect[512];
    char tls_problem[256];

    /* reconnecting */
    int64_t lost_at_us;
    unsigned backoff_ms;
    unsigned redirects;
    lws_sorted_usec_list_t frame_timer, reconnect_timer, end_timer, close_timer;

    int exit_code;
    bool done;
};

/* Connects, runs the session until it ends, and returns the exit code. `dev` must be
 * zeroed, with opt, source, notes and annotations set. */
int session_run(struct device *dev);

/* Closes the connection and frees what session_run made (also after it failed). */
void session_cleanup(struct device *dev);

#endif
