#define _GNU_SOURCE 1
#include "session.h"

#include "control.h"
#include "frame.h"
#include "source.h"
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define STREAM_ID 1
#define WS_PROTOCOL "tandem-device"
#define RAW_PROTOCOL "tandem-raw"
/* Our own messages are small; the largest is the hello. */
#define CONTROL_OUT_MAX 4096
/* Received control messages: the broker's limit is 64 KiB, relayed ones gain a few
 * members; anything larger is dropped unread. */
#define RX_TEXT_MAX ((size_t)256 * 1024)
/* Of a received frame only the header is kept (its length is at most 255). */
#define RX_KEEP_BINARY 256
/* A JSON line of --annotations-out: at most this many bytes. */
#define ANNOTATION_LINE_MAX ((size_t)1024 * 1024)
/* Peer text shown on the terminal is cut to this. */
#define NOTE_TEXT_MAX 600

#define US_PER_S INT64_C(1000000)
#define RESUME_WINDOW_US (60 * US_PER_S)
#define BACKOFF_FIRST_MS 500u
#define BACKOFF_MAX_MS 8000u
#define END_WAIT_US (5 * US_PER_S)
#define CLOSE_WAIT_US (2 * US_PER_S)
#define MAX_REDIRECTS 3

static int64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

static uint64_t epoch_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- messages to the user ------------------------------------------------------------ */

static void note(struct device *dev, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void note(struct device *dev, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(dev->notes, format, args);
    va_end(args);
    fputc('\n', dev->notes);
    fflush(dev->notes);
}

/* Prints the reason on stderr and stops the event loop with `code`. */
static void finish(struct device *dev, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void finish(struct device *dev, int code, const char *format, ...) {
    if (dev->done) return;
    if (format != NULL) {
        va_list args;
        va_start(args, format);
        FILE *out = code == EXIT_ENDED ? dev->notes : stderr;
        vfprintf(out, format, args);
        va_end(args);
        fputc('\n', out);
        fflush(out);
    }
    dev->exit_code = code;
    dev->done = true;
    if (dev->lws != NULL) lws_cancel_service(dev->lws);
}

/* Peer text made printable (see text.h); `buf` must have NOTE_TEXT_MAX bytes. */
static const char *shown(const char *text, char *buf) {
    if (text == NULL) return "";
    return text_escape_terminal(text, strlen(text), buf, NOTE_TEXT_MAX);
}

static const char *close_name(int code) {
    switch (code) {
    case 1000: return "normal";
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1006: return "closed without a close frame";
    case 1007: return "invalid data";
    case 1008: return "policy violation";
    case 1009: return "message too big";
    case 1011: return "internal error";
    case 1013: return "try again later";
    case 4204: return "queue empty";
    case 4302: return "handed over";
    case 4400: return "bad request";
    case 4401: return "unauthorized";
    case 4403: return "forbidden";
    case 4404: return "unknown code";
    case 4408: return "hello timeout";
    case 4409: return "code used";
    case 4410: return "code expired";
    case 4411: return "resume refused";
    case 4412: return "replaced";
    case 4413: return "idle";
    case 4415: return "unknown session";
    case 4421: return "other broker";
    case 4426: return "unsupported version";
    case 4429: return "rate limited";
    case 4430: return "throttled";
    case 4431: return "queue limit";
    case 4432: return "help link refused";
    case 4503: return "slow consumer";
    default: return "unknown close code";
    }
}

/* "close 4404, unknown code; error unknown-code: <message>" for the last connection. The
 * broker's `error` is named only when a close frame followed it (it announced the close);
 * an error the session went on after says nothing about a cut connection. */
static void describe_close(const struct device *dev, char *out, size_t cap) {
    char code[NOTE_TEXT_MAX], message[NOTE_TEXT_MAX];
    shown(dev->error_code, code);
    shown(dev->error_message, message);
    if (dev->close_code == 0)
        snprintf(out, cap, "no close code: the connection was cut");
    else
        snprintf(out, cap, "close %d, %s%s%s%s%s", dev->close_code, close_name(dev->close_code),
                 dev->error_code[0] ? "; error " : "", code, dev->error_message[0] ? ": " : "", message);
}

/* ---- outgoing messages --------------------------------------------------------------- */

static void outq_clear(struct device *dev) {
    while (dev->outq_count > 0) {
        free(dev->outq[dev->outq_head].buf);
        dev->outq[dev->outq_head].buf = NULL;
        dev->outq_head = (dev->outq_head + 1) % DEVICE_OUTQ_MAX;
        dev->outq_count--;
    }
    dev->outq_head = 0;
}

/* Queues `message` (consumed) for the current connection. False when there is no
 * connection, the queue is full or memory ran out. */
static bool send_control(struct device *dev, cJSON *message) {
    if (message == NULL) {
        finish(dev, EXIT_INTERNAL, "Out of memory.");
        return false;
    }
    if (dev->wsi == NULL || dev->outq_count == DEVICE_OUTQ_MAX) {
        cJSON_Delete(message);
        return false;
    }
    unsigned char *buf = malloc(LWS_PRE + CONTROL_OUT_MAX);
    if (buf == NULL) {
        cJSON_Delete(message);
        finish(dev, EXIT_INTERNAL, "Out of memory.");
        return false;
    }
    size_t len = control_print(message, (char *)buf + LWS_PRE, CONTROL_OUT_MAX);
    cJSON_Delete(message);
    if (len == 0) {
        free(buf);
        return false;
    }
    unsigned tail = (dev->outq_head + dev->outq_count) % DEVICE_OUTQ_MAX;
    dev->outq[tail].buf = buf;
    dev->outq[tail].len = len;
    dev->outq_count++;
    lws_callback_on_writable(dev->wsi);
    return true;
}

/* ---- streaming ----------------------------------------------------------------------- */

static bool streaming(const struct device *dev) {
    return dev->wsi != NULL && dev->phase == PHASE_LIVE && dev->consent == CONSENT_GRANTED && dev->stream_started &&
           !dev->paused && !dev->end_requested && !dev->session_ended;
}

static void request_end(struct device *dev, const char *why);

static void frame_tick(lws_sorted_usec_list_t *sul) {
    struct device *dev = lws_container_of(sul, struct device, frame_timer);
    if (dev->done || !streaming(dev)) return; /* the timer stops; start_streaming re-arms it */
    if (!dev->frame_ready) {
        /* (A frame still waiting for the socket is not replaced: this tick is skipped.) */
        char err[512];
        size_t len = 0;
        uint8_t *payload = dev->frame_buf + LWS_PRE + FRAME_HEADER_SIZE;
        size_t cap = dev->frame_cap - LWS_PRE - FRAME_HEADER_SIZE;
        err[0] = '\0';
        enum source_result r = source_next(dev->source, payload, cap, &len, err, sizeof err);
        if (r == SOURCE_FAILED) {
            fprintf(stderr, "The picture source failed: %s\n", err);
            dev->source_failed = true;
            request_end(dev, "the picture source failed");
            return;
        }
        if (r == SOURCE_FRAME) {
            if (err[0] != '\0') note(dev, "Skipped a picture: %s", err);
            struct frame_header header = {
                .flags = FRAME_FLAG_KEYFRAME, /* every image frame is a keyframe (§4.1) */
                .codec = (uint8_t)source_codec(dev->source),
                .stream_id = STREAM_ID,
                .sequence = dev->sequence++,
                .capture_micros = epoch_us(),
                .payload_length = (uint32_t)len,
            };
            frame_encode_header(&header, dev->frame_buf + LWS_PRE);
            dev->frame_len = FRAME_HEADER_SIZE + len;
            dev->frame_ready = true;
            lws_callback_on_writable(dev->wsi);
        }
    }
    lws_sul_schedule(dev->lws, 0, &dev->frame_timer, frame_tick, (lws_usec_t)(1e6 / dev->fps));
}

static const char *codec_name(const struct device *dev) {
    const char *name = frame_codec_name(source_codec(dev->source));
    return name != NULL ? name : "jpeg";
}

/* Announces the stream and starts the frame timer, once consent is granted and the
 * session is live on this connection. */
static void start_streaming(struct device *dev) {
    if (dev->phase != PHASE_LIVE || dev->consent != CONSENT_GRANTED || dev->stream_started || dev->end_requested)
        return;
    char err[512];
    if (source_start(dev->source, dev->opt.fps, err, sizeof err) != 0) {
        fprintf(stderr, "Cannot start the picture source: %s\n", err);
        dev->source_failed = true;
        request_end(dev, "the picture source failed");
        return;
    }
    cJSON *start = control_stream_start(STREAM_ID, "camera", codec_name(dev), source_width(dev->source),
                                        source_height(dev->source), dev->fps);
    if (!send_control(dev, start)) return;
    dev->stream_started = true;
    if (dev->paused) {
        send_control(dev, control_stream_ref("stream.pause", STREAM_ID));
        return;
    }
    lws_sul_schedule(dev->lws, 0, &dev->frame_timer, frame_tick, 1);
}

/* ---- consent --------------------------------------------------------------------------- */

static void send_consent(struct device *dev) {
    if (dev->consent_sent || dev->phase != PHASE_LIVE ||
        (dev->consent != CONSENT_GRANTED && dev->consent != CONSENT_DECLINED))
        return;
    bool granted = dev->consent == CONSENT_GRANTED;
    int recording = dev->recording ? (granted && !dev->opt.no_recording) : -1;
    if (!send_control(dev, control_consent(granted, dev->mode, recording))) return;
    dev->consent_sent = true;
    if (recording == 1) note(dev, "You agreed to the recording.");
    else if (dev->recording) note(dev, "Nothing of this session is recorded.");
}

static void decide_consent(struct device *dev, bool granted) {
    char agent[NOTE_TEXT_MAX];
    dev->consent = granted ? CONSENT_GRANTED : CONSENT_DECLINED;
    send_consent(dev);
    if (granted) {
        note(dev, "Sharing %s with %s (%s, %.3g fps). Ctrl-C leaves.", source_description(dev->source),
             shown(dev->agent, agent), codec_name(dev), dev->fps);
        start_streaming(dev);
    } else {
        note(dev, "Not sharing anything; chat and the agent's drawings only. Ctrl-C leaves.");
    }
}

/* ---- ending -------------------------------------------------------------------------- */

static void end_wait_expired(lws_sorted_usec_list_t *sul) {
    struct device *dev = lws_container_of(sul, struct device, end_timer);
    if (dev->session_ended || dev->done) return;
    if (dev->end_sent)
        finish(dev, EXIT_LOST, "The broker did not confirm the end of the session within 5 s.");
    else
        finish(dev, EXIT_LOST,
               "Left while the connection was lost: the broker ends the session when its grace period "
               "(60 s) passes.");
}

/* Leaves the session: session.end now if connected, else as soon as the resume succeeds;
 * either way at most 5 s are waited for session.ended. */
static void request_end(struct device *dev, const char *why) {
    if (dev->end_requested || dev->session_ended || dev->done) return;
    if (!dev->joined) {
        finish(dev, EXIT_INTERNAL, "Stopped (%s) before joining the session.", why);
        return;
    }
    dev->end_requested = true;
    dev->frame_ready = false;
    note(dev, "Leaving the session (%s)...", why);
    if (dev->wsi != NULL && dev->phase == PHASE_LIVE) {
        if (send_control(dev, control_session_end())) dev->end_sent = true;
    }
    lws_sul_schedule(dev->lws, 0, &dev->end_timer, end_wait_expired, END_WAIT_US);
}

static void close_wait_expired(lws_sorted_usec_list_t *sul) {
    struct device *dev = lws_container_of(sul, struct device, close_timer);
    if (!dev->done) finish(dev, dev->source_failed ? EXIT_INTERNAL : EXIT_ENDED, NULL);
}

/* ---- connecting ---------------------------------------------------------------------- */

static void on_disconnect(struct device *dev, bool was_connected, const char *why);

/* lws pings after 15 s without a sign of life and hangs up after 40 s, so a half-open
 * connection is found and resumed. */
static const uint32_t retry_table[] = {500, 1000, 2000, 4000, 8000};
static const lws_retry_bo_t retry_policy = {
    .retry_ms_table = retry_table,
    .retry_ms_table_count = sizeof retry_table / sizeof retry_table[0],
    .conceal_count = 0,
    .secs_since_valid_ping = 15,
    .secs_since_valid_hangup = 40,
    .jitter_percent = 0,
};

static void connect_now(struct device *dev) {
    dev->close_code = 0;
    dev->close_reason[0] = '\0';
    dev->error_code[0] = '\0';
    dev->error_message[0] = '\0';
    dev->retry_after = 0;
    dev->redirect[0] = '\0';
    dev->tls_problem[0] = '\0';
    dev->resuming = dev->joined;
    dev->phase = PHASE_CONNECTING;

    struct lws_client_connect_info info;
    memset(&info, 0, sizeof info);
    info.context = dev->lws;
    info.vhost = dev->vhost;
    info.address = dev->server.host;
    info.port = dev->server.port;
    info.ssl_connection = LCCSCF_USE_SSL;
    info.path = "/v1/ws";
    /* The Host header and the name for SNI and the certificate check (lws strips no
     * port: none is given). */
    info.host = dev->server.tls_name;
    info.origin = NULL;
    info.protocol = "tandem.v1";
    info.local_protocol_name = WS_PROTOCOL;
    info.alpn = "http/1.1";
    info.retry_and_idle_policy = &retry_policy;
    info.pwsi = &dev->wsi;
    struct lws *wsi = lws_client_connect_via_info(&info);
    if (wsi == NULL && dev->phase == PHASE_CONNECTING && !dev->done) {
        dev->wsi = NULL;
        on_disconnect(dev, false, "the connection could not be started (is the host name right?)");
    }
}

static void reconnect_tick(lws_sorted_usec_list_t *sul) {
    struct device *dev = lws_container_of(sul, struct device, reconnect_timer);
    if (dev->done || dev->wsi != NULL) return;
    connect_now(dev);
}

/* The first join was refused or failed: say why and pick the exit code. */
static void refused(struct device *dev, bool was_connected, const char *why) {
    char detail[2 * NOTE_TEXT_MAX + 64];
    describe_close(dev, detail, sizeof detail);
    if (!was_connected) {
        char problem[NOTE_TEXT_MAX];
        finish(dev, EXIT_CONNECTION, "Cannot connect to the broker at %s: %s.", dev->server.url,
               dev->tls_problem[0] ? dev->tls_problem : shown(why, problem));
        return;
    }
    switch (dev->close_code) {
    case 4404:
        finish(dev, EXIT_CODE_REFUSED,
               "The broker does not know this join code (%s). Check the twelve digits with the agent.", detail);
        return;
    case 4409:
        finish(dev, EXIT_CODE_REFUSED, "This join code was already used (%s). Ask the agent for a new one.",
               detail);
        return;
    case 4410:
        finish(dev, EXIT_CODE_REFUSED, "This join code has expired (%s). Ask the agent for a new one.", detail);
        return;
    case 4430:
        if (dev->retry_after > 0)
            finish(dev, EXIT_THROTTLED,
                   "Too many failed joins were tried from this network lately; try again in %ld s (%s).",
                   dev->retry_after, detail);
        else
            finish(dev, EXIT_THROTTLED, "Too many failed joins were tried lately; try again later (%s).", detail);
        return;
    case 0:
    case 1006:
        finish(dev, EXIT_CONNECTION, "The connection to %s closed before the broker answered (%s).",
               dev->server.url, detail);
        return;
    default:
        finish(dev, EXIT_REFUSED, "The broker refused the join (%s).", detail);
        return;
    }
}

static void on_disconnect(struct device *dev, bool was_connected, const char *why) {
    dev->wsi = NULL;
    dev->phase = PHASE_IDLE;
    dev->stream_started = false;
    dev->frame_ready = false;
    dev->rx_active = false;
    outq_clear(dev);
    lws_sul_cancel(&dev->frame_timer);
    if (dev->done || dev->destroying) return;
    if (dev->session_ended) {
        lws_sul_cancel(&dev->close_timer);
        finish(dev, dev->source_failed ? EXIT_INTERNAL : EXIT_ENDED, NULL);
        return;
    }
    char detail[2 * NOTE_TEXT_MAX + 64];
    describe_close(dev, detail, sizeof detail);
    if (!dev->joined) {
        /* Another broker of the deployment holds the session (§14): join there, once. */
        if (was_connected && dev->close_code == 4421 && dev->redirect[0] != '\0') {
            struct server target;
            char err[512], url[NOTE_TEXT_MAX];
            if (dev->redirects >= MAX_REDIRECTS) {
                finish(dev, EXIT_REFUSED, "The brokers keep sending this code elsewhere (%s); giving up.", detail);
                return;
            }
            if (args_parse_server(dev->redirect, &target, err, sizeof err) != 0) {
                finish(dev, EXIT_REFUSED, "The broker sent this code to another broker, but %s (%s).",
                       shown(err, url), detail);
                return;
            }
            dev->redirects++;
            dev->server = target;
            note(dev, "This code belongs to another broker of the service; joining there (%s).", target.url);
            connect_now(dev);
            return;
        }
        refused(dev, was_connected, why);
        return;
    }
    /* We were in the session: resume, unless the broker said that is over. */
    if (dev->close_code == 4411) {
        finish(dev, EXIT_LOST, "The broker refused to resume the session (%s): it ended or its grace period passed.",
               detail);
        return;
    }
    if (dev->close_code == 4412) {
        finish(dev, EXIT_LOST, "Another connection took this session over (%s).", detail);
        return;
    }
    if (dev->end_sent) {
        finish(dev, EXIT_LOST, "The connection closed (%s) before the broker confirmed the end of the session.",
               detail);
        return;
    }
    int64_t now = monotonic_us();
    if (dev->lost_at_us == 0) {
        dev->lost_at_us = now;
        dev->backoff_ms = BACKOFF_FIRST_MS;
        note(dev, "The connection was lost (%s); reconnecting...", detail);
    } else if (!was_connected && dev->tls_problem[0] != '\0') {
        note(dev, "Reconnecting failed: %s.", dev->tls_problem);
    }
    int64_t elapsed = now - dev->lost_at_us;
    if (elapsed >= RESUME_WINDOW_US) {
        finish(dev, EXIT_LOST, "Could not resume the session within 60 s (last attempt: %s).",
               was_connected ? detail : (dev->tls_problem[0] ? dev->tls_problem : "no connection"));
        return;
    }
    int64_t delay = (int64_t)dev->backoff_ms * 1000;
    dev->backoff_ms = dev->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : dev->backoff_ms * 2;
    if (dev->close_code == 4430 && dev->retry_after > 0 && dev->retry_after * US_PER_S > delay)
        delay = dev->retry_after * US_PER_S;
    /* The last attempt is made right at the end of the window. */
    if (elapsed + delay > RESUME_WINDOW_US) delay = RESUME_WINDOW_US - elapsed;
    lws_sul_schedule(dev->lws, 0, &dev->reconnect_timer, reconnect_tick, (lws_usec_t)delay);
}

/* ---- received control messages ------------------------------------------------------- */

static void write_annotation_line(struct device *dev, const cJSON *message) {
    if (dev->annotations == NULL || dev->annotations_failed) return;
    if (control_write_line(dev->annotations, message, ANNOTATION_LINE_MAX) != 0) {
        dev->annotations_failed = true;
        fprintf(stderr, "Cannot write to --annotations-out (%s); no further lines are written.\n",
                strerror(errno));
    }
}

static void on_error_message(struct device *dev, const cJSON *m) {
    const char *code = control_string(m, "code", sizeof dev->error_code - 1);
    const char *message = control_string(m, "message", sizeof dev->error_message - 1);
    const char *redirect = control_string(m, "redirect", sizeof dev->redirect - 1);
    long long retry = 0;
    if (dev->phase == PHASE_LIVE) {
        char a[NOTE_TEXT_MAX], b[NOTE_TEXT_MAX];
        note(dev, "Broker: %s: %s", shown(code, a), shown(message, b));
        /* In the session most errors refuse one message and the session goes on (§8); keep
         * only those that may announce a close, to explain it. */
        if (code == NULL || (strcmp(code, "rate-limited") != 0 && strcmp(code, "message-too-big") != 0)) return;
    }
    snprintf(dev->error_code, sizeof dev->error_code, "%s", code != NULL ? code : "");
    snprintf(dev->error_message, sizeof dev->error_message, "%s", message != NULL ? message : "");
    if (redirect != NULL) snprintf(dev->redirect, sizeof dev->redirect, "%s", redirect);
    dev->retry_after = control_integer(m, "retryAfter", 0, 7 * 86400, &retry) ? (long)retry : 0;
}

static bool valid_token(const char *token) {
    if (token == NULL || token[0] == '\0') return false;
    for (const char *p = token; *p != '\0'; p++)
        if (*p <= ' ' || *p > '~') return false;
    return true;
}

static void keep_token(struct device *dev, const cJSON *m) {
    const char *token = control_string(m, "resumeToken", sizeof dev->resume_token - 1);
    if (valid_token(token)) {
        snprintf(dev->resume_token, sizeof dev->resume_token, "%s", token);
    } else {
        dev->resume_token[0] = '\0';
        note(dev, "Note: the broker gave no usable resume token; a lost connection cannot be resumed.");
    }
}

static void check_codecs(struct device *dev, const cJSON *m) {
    if (control_list_contains(m, "codecs", codec_name(dev)) == 0)
        note(dev, "Note: the agent's client does not decode %s; it will not show this stream.", codec_name(dev));
}

static void ask_consent(struct device *dev) {
    char agent[NOTE_TEXT_MAX];
    dev->consent = CONSENT_ASKING;
    dev->line_len = 0;
    dev->line_overflow = false;
    fprintf(dev->notes, "Share your %s with %s%s? [y/N] ", dev->mode, shown(dev->agent, agent),
            dev->recording && !dev->opt.no_recording ? " (recorded)" : "");
    fflush(dev->notes);
}

static void on_joined(struct device *dev, const cJSON *m) {
    if (dev->phase != PHASE_WAITING_WELCOME || dev->resuming) return;
    keep_token(dev, m);
    const char *agent = control_string(m, "agent", sizeof dev->agent - 1);
    const char *session = control_string(m, "sessionId", sizeof dev->session_id - 1);
    const char *ticket = control_string(m, "ticket", 256);
    const char *mode = control_string(m, "mode", 16);
    snprintf(dev->agent, sizeof dev->agent, "%s", agent != NULL ? agent : "the agent");
    snprintf(dev->session_id, sizeof dev->session_id, "%s", session != NULL ? session : "");
    snprintf(dev->mode, sizeof dev->mode, "%s", mode != NULL && strcmp(mode, "screen") == 0 ? "screen" : "camera");
    dev->recording = control_bool(m, "recording") == 1;
    dev->phase = PHASE_LIVE;
    dev->joined = true;
    char a[NOTE_TEXT_MAX], t[NOTE_TEXT_MAX], s[NOTE_TEXT_MAX];
    note(dev, "Joined %s's session %s for ticket %s. %s asks to see your %s.", shown(dev->agent, a),
         shown(dev->session_id, s), shown(ticket, t), a, dev->mode);
    if (dev->recording)
        note(dev, "This session is recorded (what you share and the agent's drawings) for the ticket's record, if "
                  "you agree.");
    check_codecs(dev, m);
    switch (dev->opt.consent) {
    case CONSENT_YES: decide_consent(dev, true); break;
    case CONSENT_NO: decide_consent(dev, false); break;
    case CONSENT_ASK: ask_consent(dev); break;
    }
}

static void on_resumed(struct device *dev, const cJSON *m) {
    if (dev->phase != PHASE_WAITING_WELCOME || !dev->resuming) return;
    keep_token(dev, m);
    int64_t gap = dev->lost_at_us != 0 ? monotonic_us() - dev->lost_at_us : 0;
    dev->lost_at_us = 0;
    dev->backoff_ms = BACKOFF_FIRST_MS;
    dev->phase = PHASE_LIVE;
    int present = control_bool(m, "peerPresent");
    note(dev, "Reconnected after %.1f s; %s.", (double)gap / 1e6,
         present == 0 ? "the agent is away for now" : "the session goes on");
    check_codecs(dev, m);
    if (dev->end_requested) {
        if (send_control(dev, control_session_end())) dev->end_sent = true;
        return;
    }
    /* Consent survives a resume (§5.13); one decided while we were away is sent now. */
    send_consent(dev);
    start_streaming(dev);
}

static void on_ended(struct device *dev, const cJSON *m) {
    if (dev->phase != PHASE_LIVE) return;
    const char *reason = control_string(m, "reason", 64);
    const char *outcome = control_string(m, "outcome", 64);
    char r[NOTE_TEXT_MAX], o[NOTE_TEXT_MAX];
    dev->session_ended = true;
    dev->frame_ready = false;
    lws_sul_cancel(&dev->end_timer);
    lws_sul_cancel(&dev->frame_timer);
    if (outcome != NULL)
        note(dev, "Session ended (%s, outcome %s). Thank you.", shown(reason, r), shown(outcome, o));
    else
        note(dev, "Session ended (%s). Thank you.", shown(reason != NULL ? reason : "no reason given", r));
    /* The broker closes with 1000 now; do not wait for it forever. */
    lws_sul_schedule(dev->lws, 0, &dev->close_timer, close_wait_expired, CLOSE_WAIT_US);
}

static void on_chat(struct device *dev, const cJSON *m) {
    const char *text = control_string(m, "text", RX_TEXT_MAX);
    const char *supervisor = control_string(m, "supervisor", 256);
    const char *from = control_string(m, "from", 32);
    char who[NOTE_TEXT_MAX], said[NOTE_TEXT_MAX];
    if (supervisor != NULL) {
        char name[NOTE_TEXT_MAX];
        snprintf(who, sizeof who, "supervisor %s", shown(supervisor, name));
    } else {
        shown(from != NULL ? from : "agent", who);
    }
    note(dev, "%s: %s", who, shown(text, said));
    write_annotation_line(dev, m);
}

static void on_overlay(struct device *dev, const cJSON *m, const char *type) {
    write_annotation_line(dev, m);
    char a[NOTE_TEXT_MAX], b[NOTE_TEXT_MAX];
    const char *author = control_string(m, "author", 32);
    long long stream = -1;
    control_integer(m, "streamId", 0, 65535, &stream);
    if (strcmp(type, "annotation") == 0) {
        const char *op = control_string(m, "op", 16);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(m, "shape");
        const char *kind = cJSON_IsObject(shape) ? control_string(shape, "kind", 16) : NULL;
        const char *id = cJSON_IsObject(shape) ? control_string(shape, "id", 64) : control_string(m, "id", 64);
        if (op == NULL || strcmp(op, "append") == 0 || (kind != NULL && strcmp(kind, "pointer") == 0)) return;
        char k[NOTE_TEXT_MAX], i[NOTE_TEXT_MAX];
        note(dev, "%s: %s %s %s on stream %lld", shown(author != NULL ? author : "peer", a), shown(op, b), shown(kind, k),
             shown(id, i), stream);
    } else if (strcmp(type, "freeze") == 0) {
        long long sequence;
        if (control_integer(m, "sequence", 0, 4294967295.0, &sequence))
            note(dev, "%s froze stream %lld at frame %lld.", shown(author != NULL ? author : "peer", a), stream,
                 sequence);
        else
            note(dev, "%s froze stream %lld (at no valid frame).", shown(author != NULL ? author : "peer", a), stream);
    } else if (strcmp(type, "unfreeze") == 0) {
        note(dev, "%s unfroze stream %lld.", shown(author != NULL ? author : "peer", a), stream);
    }
}

static void on_stream_control(struct device *dev, const cJSON *m) {
    long long stream;
    const char *action = control_string(m, "action", 16);
    const char *origin = control_string(m, "origin", 16);
    if (!control_integer(m, "streamId", 0, 65535, &stream) || action == NULL) return;
    if (stream != STREAM_ID) return; /* not ours */
    const char *who = origin != NULL && strcmp(origin, "broker") == 0 ? "the broker" : "the agent";
    if (strcmp(action, "keyframe") == 0) {
        int64_t now = monotonic_us();
        if (dev->last_keyframe_note_us == 0 || now - dev->last_keyframe_note_us > 10 * US_PER_S)
            note(dev, "%s asked for a keyframe: every %s frame is one already.", who, codec_name(dev));
        dev->last_keyframe_note_us = now;
    } else if (strcmp(action, "quality") == 0) {
        double fps, quality;
        long long bitrate;
        if (control_number(m, "fps", 1e-6, 240, &fps)) {
            /* A later request replaces the cap; never above --fps. */
            double capped = fps < dev->opt.fps ? fps : dev->opt.fps;
            if (capped != dev->fps) {
                dev->fps = capped;
                note(dev, "%s asked for %.3g fps: now sending %.3g fps.", who, fps, dev->fps);
                if (streaming(dev))
                    lws_sul_schedule(dev->lws, 0, &dev->frame_timer, frame_tick, (lws_usec_t)(1e6 / dev->fps));
            }
        }
        if (control_number(m, "quality", 1e-9, 1, &quality) && !source_quality_adjustable(dev->source))
            note(dev, "%s asked for picture quality %.2f: this source's pictures cannot change (%s); only the frame "
                      "rate can.",
                 who, quality, source_description(dev->source));
        if (control_integer(m, "bitrate", 10000, 100000000, &bitrate))
            note(dev, "%s asked for %lld bit/s: image frames have no bit rate to set; lower the frame rate instead.",
                 who, bitrate);
    } else if (strcmp(action, "pause") == 0) {
        if (dev->paused) return;
        dev->paused = true;
        dev->frame_ready = false;
        lws_sul_cancel(&dev->frame_timer);
        if (dev->stream_started) send_control(dev, control_stream_ref("stream.pause", STREAM_ID));
        note(dev, "Paused sharing as %s asked.", who);
    } else if (strcmp(action, "resume") == 0) {
        if (!dev->paused) return;
        dev->paused = false;
        if (dev->stream_started) {
            send_control(dev, control_stream_ref("stream.resume", STREAM_ID));
            lws_sul_schedule(dev->lws, 0, &dev->frame_timer, frame_tick, 1);
        }
        note(dev, "Sharing again as %s asked.", who);
    }
}

static void on_peer_stream(struct device *dev, const cJSON *m, const char *type) {
    long long stream = -1;
    control_integer(m, "streamId", 0, 65535, &stream);
    if (strcmp(type, "stream.start") == 0) {
        char c[NOTE_TEXT_MAX], s[NOTE_TEXT_MAX];
        long long w = 0, h = 0;
        control_integer(m, "width", 0, 16384, &w);
        control_integer(m, "height", 0, 16384, &h);
        note(dev, "The agent shares stream %lld (%s %s %lldx%lld); this device does not show it.", stream,
             shown(control_string(m, "source", 32), s), shown(control_string(m, "codec", 32), c), w, h);
    } else if (strcmp(type, "stream.stop") == 0) {
        note(dev, "The agent stopped stream %lld.", stream);
    }
}

static void on_voice(struct device *dev, const cJSON *m) {
    int enabled = control_bool(m, "enabled");
    if (enabled == 1) {
        note(dev, "The agent turned voice on; this device has no microphone, so it answers no.");
        send_control(dev, control_consent(false, "microphone", -1));
    } else if (enabled == 0) {
        note(dev, "The agent turned voice off.");
    }
}

static void on_presence(struct device *dev, const cJSON *m) {
    const cJSON *present = cJSON_GetObjectItemCaseSensitive(m, "present");
    if (!cJSON_IsArray(present)) return;
    char list[NOTE_TEXT_MAX] = "";
    size_t used = 0;
    int count = 0;
    const cJSON *who;
    cJSON_ArrayForEach(who, present) {
        if (++count > 16) break;
        char name[NOTE_TEXT_MAX], role[NOTE_TEXT_MAX];
        shown(control_string(who, "name", 256), name);
        shown(control_string(who, "role", 32), role);
        int n = snprintf(list + used, sizeof list - used, "%s%s (%s)", used ? ", " : "", name, role);
        if (n < 0 || (size_t)n >= sizeof list - used) break;
        used += (size_t)n;
    }
    note(dev, "Present in this session: %s.", list);
}

static void on_transferred(struct device *dev, const cJSON *m) {
    const char *state = control_string(m, "state", 16);
    char a[NOTE_TEXT_MAX];
    if (state != NULL && strcmp(state, "completed") == 0) {
        const char *agent = control_string(m, "agent", sizeof dev->agent - 1);
        if (agent != NULL) snprintf(dev->agent, sizeof dev->agent, "%s", agent);
        note(dev, "You are now talking to %s.", shown(dev->agent, a));
        check_codecs(dev, m);
    } else {
        note(dev, "The agent is handing you over to a colleague; please stay connected.");
    }
}

static void handle_text(struct device *dev, const char *text, size_t len) {
    cJSON *m = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        note(dev, "Ignored a control message that is not a JSON object.");
        return;
    }
    const char *type = control_string(m, "type", 64);
    if (type == NULL) {
        cJSON_Delete(m);
        return;
    }
    if (strcmp(type, "error") == 0) on_error_message(dev, m);
    else if (strcmp(type, "session.joined") == 0) on_joined(dev, m);
    else if (strcmp(type, "session.resumed") == 0) on_resumed(dev, m);
    else if (dev->phase != PHASE_LIVE) { /* nothing else means anything before the welcome */ }
    else if (strcmp(type, "session.ended") == 0) on_ended(dev, m);
    else if (strcmp(type, "chat") == 0) on_chat(dev, m);
    else if (strcmp(type, "annotation") == 0 || strcmp(type, "overlay.snapshot") == 0 ||
             strcmp(type, "freeze") == 0 || strcmp(type, "unfreeze") == 0)
        on_overlay(dev, m, type);
    else if (strcmp(type, "stream.control") == 0) on_stream_control(dev, m);
    else if (strncmp(type, "stream.", 7) == 0) on_peer_stream(dev, m, type);
    else if (strcmp(type, "peer.away") == 0) note(dev, "The agent's connection dropped; waiting for it to come back.");
    else if (strcmp(type, "peer.back") == 0) note(dev, "The agent is back.");
    else if (strcmp(type, "voice") == 0) on_voice(dev, m);
    else if (strcmp(type, "session.presence") == 0) on_presence(dev, m);
    else if (strcmp(type, "session.transferred") == 0) on_transferred(dev, m);
    /* Other types are informational (§10). */
    cJSON_Delete(m);
}

static void handle_binary(struct device *dev) {
    struct frame_header header;
    enum frame_error error = frame_decode_header(dev->rx, dev->rx_len, dev->rx_total, &header);
    if (error != FRAME_OK) return; /* §4: skip frames that do not decode, go on */
    if (++dev->frames_received == 1) note(dev, "Receiving the agent's frames (this device does not show them).");
}

/* ---- libwebsockets callbacks ----------------------------------------------------------- */

static int verify_certificate(struct device *dev, X509_STORE_CTX *store, int preverify_ok) {
    int depth = X509_STORE_CTX_get_error_depth(store);
    if (!preverify_ok) {
        int err = X509_STORE_CTX_get_error(store);
        if (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH)
            snprintf(dev->tls_problem, sizeof dev->tls_problem, "the broker's certificate is not issued for %.200s",
                     dev->server.tls_name);
        else
            snprintf(dev->tls_problem, sizeof dev->tls_problem,
                     "the broker's certificate does not verify against %.120s: %s", dev->opt.ca,
                     X509_verify_cert_error_string(err));
        return 0; /* lws fails the handshake */
    }
    if (depth != 0) return 0;
    /* Our own check of the name, whatever lws version does or does not do. */
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    const char *name = dev->server.tls_name;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    int match = cert != NULL && (is_ip ? X509_check_ip_asc(cert, name, 0)
                                       : X509_check_host(cert, name, strlen(name),
                                                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL));
    if (match == 1) return 0;
    X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
    snprintf(dev->tls_problem, sizeof dev->tls_problem, "the broker's certificate is not issued for %.200s", name);
    return 1; /* nonzero: refuse */
}

static int grow_rx(struct device *dev, size_t need) {
    if (need <= dev->rx_cap) return 0;
    size_t cap = dev->rx_cap == 0 ? 4096 : dev->rx_cap;
    while (cap < need) cap *= 2;
    if (cap > RX_TEXT_MAX + 1) cap = RX_TEXT_MAX + 1;
    unsigned char *grown = realloc(dev->rx, cap);
    if (grown == NULL) return -1;
    dev->rx = grown;
    dev->rx_cap = cap;
    return 0;
}

static int on_receive(struct device *dev, struct lws *wsi, const unsigned char *in, size_t len) {
    if (!dev->rx_active) {
        dev->rx_active = true;
        dev->rx_binary = lws_frame_is_binary(wsi) != 0;
        dev->rx_len = 0;
        dev->rx_total = 0;
        dev->rx_overflow = false;
    }
    dev->rx_total += len;
    if (dev->rx_binary) {
        size_t keep = dev->rx_len < RX_KEEP_BINARY ? RX_KEEP_BINARY - dev->rx_len : 0;
        if (keep > len) keep = len;
        if (keep > 0) {
            if (grow_rx(dev, RX_KEEP_BINARY) != 0) return -1;
            memcpy(dev->rx + dev->rx_len, in, keep);
            dev->rx_len += keep;
        }
    } else if (!dev->rx_overflow) {
        if (len > RX_TEXT_MAX - dev->rx_len) {
            dev->rx_overflow = true;
        } else {
            if (grow_rx(dev, dev->rx_len + len + 1) != 0) return -1;
            memcpy(dev->rx + dev->rx_len, in, len);
            dev->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(wsi)) return 0;
    dev->rx_active = false;
    if (dev->rx_binary) handle_binary(dev);
    else if (dev->rx_overflow)
        note(dev, "Ignored a control message of more than %zu KiB.", RX_TEXT_MAX / 1024);
    else
        handle_text(dev, (const char *)dev->rx, dev->rx_len);
    return 0;
}

static int on_writeable(struct device *dev, struct lws *wsi) {
    if (wsi != dev->wsi) return 0;
    if (dev->outq_count > 0) {
        struct device_outmsg *m = &dev->outq[dev->outq_head];
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        size_t len = m->len;
        free(m->buf);
        m->buf = NULL;
        dev->outq_head = (dev->outq_head + 1) % DEVICE_OUTQ_MAX;
        dev->outq_count--;
        if (n < 0 || (size_t)n < len) return -1;
    } else if (dev->frame_ready && streaming(dev)) {
        dev->frame_ready = false;
        int n = lws_write(wsi, dev->frame_buf + LWS_PRE, dev->frame_len, LWS_WRITE_BINARY);
        if (n < 0 || (size_t)n < dev->frame_len) return -1;
        if (++dev->frames_sent == 1) note(dev, "The first frame is on its way.");
        if (dev->opt.max_frames != 0 && dev->frames_sent >= dev->opt.max_frames) {
            char why[64];
            snprintf(why, sizeof why, "sent %lu frames", dev->frames_sent);
            request_end(dev, why);
        }
    }
    if (dev->outq_count > 0 || (dev->frame_ready && streaming(dev))) lws_callback_on_writable(wsi);
    return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    if (wsi == NULL) return 0;
    struct lws_context *context = lws_get_context(wsi);
    struct device *dev = context != NULL ? lws_context_user(context) : NULL;
    if (dev == NULL) return 0;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        return verify_certificate(dev, (X509_STORE_CTX *)user, (int)len);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        if (wsi != dev->wsi && dev->wsi != NULL) break;
        char why[256];
        snprintf(why, sizeof why, "%.*s", in != NULL ? (int)(len < 200 ? len : 200) : 0,
                 in != NULL ? (const char *)in : "");
        if (in == NULL || why[0] == '\0') snprintf(why, sizeof why, "the connection failed");
        /* lws passes a NUL-terminated string in some versions and a length in others. */
        why[strnlen(why, sizeof why - 1)] = '\0';
        on_disconnect(dev, false, why);
        break;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (wsi != dev->wsi) break;
        dev->phase = PHASE_WAITING_WELCOME;
        send_control(dev, dev->resuming ? control_hello_resume(dev->resume_token)
                                        : control_hello_join(dev->opt.code, dev->opt.key[0] ? dev->opt.key : NULL));
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (wsi != dev->wsi) break;
        return on_receive(dev, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(dev, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (wsi != dev->wsi) break;
        if (in != NULL && len >= 2) {
            const unsigned char *p = in;
            dev->close_code = p[0] << 8 | p[1];
            size_t reason_len = len - 2 < sizeof dev->close_reason - 1 ? len - 2 : sizeof dev->close_reason - 1;
            memcpy(dev->close_reason, p + 2, reason_len);
            dev->close_reason[reason_len] = '\0';
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (wsi != dev->wsi) break;
        on_disconnect(dev, true, "closed");
        break;
    default:
        break;
    }
    return 0;
}

static void on_signal(struct device *dev) {
    struct signalfd_siginfo info;
    while (read(dev->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (++dev->signals == 1) {
            request_end(dev, info.ssi_signo == SIGTERM ? "SIGTERM" : "Ctrl-C");
        } else if (!dev->done) {
            finish(dev, dev->joined && !dev->session_ended ? EXIT_LOST : EXIT_INTERNAL,
                   "Interrupted again: leaving without the broker's confirmation.");
        }
    }
}

/* A line typed on the terminal: the answer to the consent question. */
static int on_stdin(struct device *dev) {
    char buf[256];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
        /* End of input: no answer is a no. */
        if (dev->consent == CONSENT_ASKING) {
            fputc('\n', dev->notes);
            decide_consent(dev, false);
        }
        dev->stdin_wsi = NULL;
        return -1; /* lws closes the descriptor's wsi */
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (dev->line_len < sizeof dev->line - 1) dev->line[dev->line_len++] = buf[i];
            else dev->line_overflow = true;
            continue;
        }
        dev->line[dev->line_len] = '\0';
        if (dev->consent == CONSENT_ASKING) {
            char *answer = dev->line;
            while (*answer == ' ' || *answer == '\t') answer++;
            size_t end = strlen(answer);
            while (end > 0 && (answer[end - 1] == ' ' || answer[end - 1] == '\t' || answer[end - 1] == '\r'))
                answer[--end] = '\0';
            bool yes = !dev->line_overflow && (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0);
            decide_consent(dev, yes);
        }
        dev->line_len = 0;
        dev->line_overflow = false;
    }
    return 0;
}

static int raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    (void)user, (void)in, (void)len;
    if (wsi == NULL) return 0;
    struct lws_context *context = lws_get_context(wsi);
    struct device *dev = context != NULL ? lws_context_user(context) : NULL;
    if (dev == NULL || dev->destroying) return 0;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (wsi == dev->signal_wsi) on_signal(dev);
        else if (wsi == dev->stdin_wsi) return on_stdin(dev);
        break;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (wsi == dev->signal_wsi) dev->signal_wsi = NULL;
        if (wsi == dev->stdin_wsi) dev->stdin_wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    /* First: lws 4.1 asks protocol 0 to check server certificates. */
    {WS_PROTOCOL, ws_callback, 0, 64 * 1024, 0, NULL, 0},
    {RAW_PROTOCOL, raw_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct lws *adopt_fd(struct device *dev, int fd) {
    lws_sock_file_fd_type desc;
    memset(&desc, 0, sizeof desc);
    desc.filefd = fd;
    return lws_adopt_descriptor_vhost(dev->vhost, LWS_ADOPT_RAW_FILE_DESC, desc, RAW_PROTOCOL, NULL);
}

int session_run(struct device *dev) {
    dev->signal_fd = -1;
    dev->fps = dev->opt.fps;
    dev->server = dev->opt.server;
    dev->frame_cap = LWS_PRE + FRAME_HEADER_SIZE + source_max_payload(dev->source);
    dev->frame_buf = malloc(dev->frame_cap);
    if (dev->frame_buf == NULL) {
        fprintf(stderr, "Out of memory.\n");
        return EXIT_INTERNAL;
    }
    snprintf(dev->mode, sizeof dev->mode, "camera");

    /* Ctrl-C and SIGTERM arrive through a descriptor in the event loop (no handler, no
     * global flag). */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (dev->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "Cannot set up signal handling: %s\n", strerror(errno));
        return EXIT_INTERNAL;
    }

    lws_set_log_level(dev->opt.verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* Trust --ca only, not the system's CAs. */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.client_ssl_ca_filepath = dev->opt.ca;
    info.user = dev;
    info.timeout_secs = 20;
    info.connect_timeout_secs = 15;
    info.fd_limit_per_thread = 1024;
    dev->lws = lws_create_context(&info);
    if (dev->lws == NULL) {
        fprintf(stderr, "Cannot set up TLS with the CA file %s (is it a PEM certificate?).\n", dev->opt.ca);
        return EXIT_CONNECTION;
    }
    dev->vhost = lws_get_vhost_by_name(dev->lws, "default");
    if (dev->vhost == NULL) {
        fprintf(stderr, "libwebsockets made no default vhost.\n");
        return EXIT_INTERNAL;
    }
    dev->signal_wsi = adopt_fd(dev, dev->signal_fd);
    if (dev->signal_wsi == NULL) {
        fprintf(stderr, "Cannot watch for signals.\n");
        dev->signal_fd = -1; /* lws closed it */
        return EXIT_INTERNAL;
    }
    if (dev->opt.consent == CONSENT_ASK) {
        dev->stdin_wsi = adopt_fd(dev, STDIN_FILENO);
        if (dev->stdin_wsi == NULL) {
            fprintf(stderr, "Cannot read answers from the terminal; pass --consent yes or --consent no.\n");
            return EXIT_USAGE;
        }
    }

    note(dev, "Joining at %s with the code %.3s-%.3s-%.3s-%.3s%s...", dev->server.url, dev->opt.code,
         dev->opt.code + 3, dev->opt.code + 6, dev->opt.code + 9, dev->opt.key[0] ? " and the link's key" : "");
    connect_now(dev);
    while (!dev->done) {
        if (lws_service(dev->lws, 0) < 0) {
            finish(dev, EXIT_INTERNAL, "The event loop failed.");
            break;
        }
    }
    return dev->exit_code;
}

void session_cleanup(struct device *dev) {
    dev->destroying = true;
    if (dev->lws != NULL) {
        lws_sul_cancel(&dev->frame_timer);
        lws_sul_cancel(&dev->reconnect_timer);
        lws_sul_cancel(&dev->end_timer);
        lws_sul_cancel(&dev->close_timer);
        lws_context_destroy(dev->lws);
        dev->lws = NULL;
        /* The adopted descriptors were closed with their wsis. */
        dev->signal_fd = -1;
    }
    if (dev->signal_fd >= 0) close(dev->signal_fd);
    outq_clear(dev);
    free(dev->frame_buf);
    free(dev->rx);
    dev->frame_buf = NULL;
    dev->rx = NULL;
}
