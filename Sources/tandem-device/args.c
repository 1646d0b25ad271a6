#define _GNU_SOURCE 1
#include "args.h"


#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_SERVER "https://127.0.0.1:8443"

int args_normalize_code(const char *text, char out[CODE_DIGITS + 1]) {
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == CODE_DIGITS) return -1;
            out[n++] = *p;
        } else if (*p != '-' && *p != ' ') {
            return -1;
        }
    }
    if (n != CODE_DIGITS) return -1;
    out[n] = '\0';
    return 0;
}

bool args_valid_key(const char *key) {
    size_t n = 0;
    for (; key[n] != '\0'; n++) {
        char c = key[n];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_'))
            return false;
        if (n >= LINK_KEY_LENGTH) return false;
    }
    return n == LINK_KEY_LENGTH;
}

static bool valid_hostname(const char *host) {
    size_t len = strlen(host);
    if (len == 0 || len > 253) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(isalnum(c) || c == '-' || c == '.')) return false;
    }
    return host[0] != '.' && host[0] != '-';
}

/* Parses the scheme and authority; *rest points after them (at '/', '?', '#' or the end). */
static int parse_authority(const char *url, struct server *out, const char **rest, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (strncasecmp(url, "https://", 8) != 0) {
        if (strncasecmp(url, "http://", 7) == 0)
            snprintf(err, errlen, "'%.200s': the broker speaks https only (TLS)", url);
        else
            snprintf(err, errlen, "'%.200s' is not an https:// URL", url);
        return -1;
    }
    const char *p = url + 8;
    size_t auth_len = strcspn(p, "/?#");
    if (auth_len == 0 || auth_len > HOST_MAX + 8) {
        snprintf(err, errlen, "'%.200s' has no usable host", url);
        return -1;
    }
    char authority[HOST_MAX + 16];
    memcpy(authority, p, auth_len);
    authority[auth_len] = '\0';
    *rest = p + auth_len;
    if (strchr(authority, '@') != NULL) {
        snprintf(err, errlen, "'%.200s': user names in the URL are not supported", url);
        return -1;
    }
    const char *port_text = NULL;
    bool ipv6 = false;
    if (authority[0] == '[') {
        char *close = strchr(authority, ']');
        if (close == NULL) {
            snprintf(err, errlen, "'%.200s': unclosed [ in the host", url);
            return -1;
        }
        *close = '\0';
        if (close[1] == ':') port_text = close + 2;
        else if (close[1] != '\0') {
            snprintf(err, errlen, "'%.200s': unexpected text after the IPv6 address", url);
            return -1;
        }
        if (strlen(authority + 1) > HOST_MAX) {
            snprintf(err, errlen, "'%.200s': the host is too long", url);
            return -1;
        }
        memcpy(out->host, authority + 1, strlen(authority + 1) + 1);
        struct in6_addr a6;
        if (inet_pton(AF_INET6, out->host, &a6) != 1) {
            snprintf(err, errlen, "'%.200s' is not a valid IPv6 address", out->host);
            return -1;
        }
        ipv6 = true;
    } else {
        char *colon = strchr(authority, ':');
        if (colon != NULL) {
            *colon = '\0';
            port_text = colon + 1;
        }
        if (strlen(authority) > HOST_MAX) {
            snprintf(err, errlen, "'%.200s': the host is too long", url);
            return -1;
        }
        memcpy(out->host, authority, strlen(authority) + 1);
        if (!valid_hostname(out->host)) {
            snprintf(err, errlen, "'%.200s' is not a valid host name", out->host);
            return -1;
        }
        for (char *c = out->host; *c != '\0'; c++) *c = (char)tolower((unsigned char)*c);
    }
    out->port = 443;
    if (port_text != NULL) {
        char *end;
        errno = 0;
        long port = strtol(port_text, &end, 10);
        if (*port_text == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535 ||
            !isdigit((unsigned char)*port_text)) {
            snprintf(err, errlen, "'%.200s' is not a valid port", port_text);
            return -1;
        }
        out->port = (int)port;
    }
    /* TLS forbids IP addresses in SNI: on a loopback address clients verify the
     * development certificate for `localhost` (protocol/README.md §1). */
    struct in_addr a4;
    struct in6_addr a6;
    bool loopback = (inet_pton(AF_INET, out->host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
                    (inet_pton(AF_INET6, out->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
    snprintf(out->tls_name, sizeof out->tls_name, "%s", loopback ? "localhost" : out->host);
    snprintf(out->url, sizeof out->url, ipv6 ? "https://[%s]:%d" : "https://%s:%d", out->host, out->port);
    return 0;
}

int args_parse_server(const char *url, struct server *out, char *err, size_t errlen) {
    const char *rest;
    if (parse_authority(url, out, &rest, err, errlen) != 0) return -1;
    if (!(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0'))) {
        snprintf(err, errlen, "'%.200s': give the broker's base URL, https://HOST:PORT", url);
        return -1;
    }
    return 0;
}

int args_parse_link(const char *link, struct server *server, char code[CODE_DIGITS + 1],
                    char key[LINK_KEY_LENGTH + 1], bool *key_dropped, char *err, size_t errlen) {
    const char *rest;
    *key_dropped = false;
    key[0] = '\0';
    if (parse_authority(link, server, &rest, err, errlen) != 0) return -1;
    if (strncmp(rest, "/j/", 3) != 0) {
        snprintf(err, errlen, "'%.200s' is not a join link (https://HOST:PORT/j/CODE#k=KEY)", link);
        return -1;
    }
    const char *code_text = rest + 3;
    size_t code_len = strcspn(code_text, "#?");
    char digits[64];
    if (code_len >= sizeof digits || code_text[code_len] == '?') {
        snprintf(err, errlen, "'%.200s' is not a join link (https://HOST:PORT/j/CODE#k=KEY)", link);
        return -1;
    }
    memcpy(digits, code_text, code_len);
    digits[code_len] = '\0';
    if (args_normalize_code(digits, code) != 0) {
        snprintf(err, errlen, "the link's code '%s' is not twelve digits", digits);
        return -1;
    }
    if (code_text[code_len] == '#') {
        /* The fragment: '&'-separated name=value members; the key is `k`. */
        const char *member = code_text + code_len + 1;
        while (*member != '\0') {
            size_t len = strcspn(member, "&");
            if (len > 2 && member[0] == 'k' && member[1] == '=') {
                char candidate[64];
                if (len - 2 < sizeof candidate) {
                    memcpy(candidate, member + 2, len - 2);
                    candidate[len - 2] = '\0';
                    if (args_valid_key(candidate)) {
                        memcpy(key, candidate, LINK_KEY_LENGTH + 1);
                        break;
                    }
                }
                *key_dropped = true;
            }
            member += len;
            if (*member == '&') member++;
        }
    }
    return 0;
}

void args_usage(const char *program, bool full) {
    FILE *out = full ? stdout : stderr;
    fprintf(out,
            "usage: %s join CODE|LINK --ca CA.pem [--server https://HOST:PORT] [--consent yes|no|ask]\n"
            "                 [--source DIR|pattern|/dev/videoN] [--fps F] [--annotations-out FILE|-]\n"
            "                 [--max-frames N] [--no-recording] [--verbose]\n",
            program);
    if (!full) {
        fprintf(out, "Try '%s --help' for more.\n", program);
        return;
    }
    fprintf(out,
            "\n"
            "Joins a Tandem support session as the customer and streams pictures to the agent.\n"
            "\n"
            "  CODE                 the twelve-digit join code the agent read out (482-913-557-301)\n"
            "  LINK                 or the join link https://HOST:PORT/j/CODE#k=KEY (sets the server)\n"
            "  --ca FILE            PEM file of the CA that signed the broker's certificate (env TANDEM_CA)\n"
            "  --server URL         the broker (env TANDEM_SERVER; default " DEFAULT_SERVER ")\n"
            "  --consent CHOICE     yes: share; no: do not share (chat and drawings only);\n"
            "                       ask: ask on the terminal (default; needs a terminal)\n"
            "  --no-recording       in a recorded session, share but refuse the recording\n"
            "  --source SOURCE      a folder of .jpg files (sent in name order, looping), 'pattern'\n"
            "                       (a generated PNG test pattern; default), or /dev/videoN (MJPEG)\n"
            "  --fps F              frames per second, above 0 and at most 240 (default 5)\n"
            "  --annotations-out F  write received annotations, overlay snapshots, freezes and chat\n"
            "                       as JSON lines to F (- for standard output)\n"
            "  --max-frames N       leave the session after sending N frames\n"
            "  --verbose            print libwebsockets' own log lines\n"
            "\n"
            "Ctrl-C (SIGINT) or SIGTERM leaves the session (session.end) and waits up to 5 s for\n"
            "the broker to confirm. A lost connection is resumed for up to 60 s.\n"
            "\n"
            "Exit status:\n"
            "  0  the session ended normally\n"
            "  1  interrupted before joining, or an internal error\n"
            "  2  usage error (bad option, code, link, source or output file)\n"
            "  3  TLS, certificate or connection failure\n"
            "  4  the join code was refused: unknown (4404), already used (4409) or expired (4410)\n"
            "  5  throttled: too many failed joins lately (4430); the message says when to retry\n"
            "  6  another refusal (4400, 4426, 4411, 4421 without a usable redirect, …)\n"
            "  7  the connection was lost and could not be resumed (or the end was not confirmed)\n");
}

static int parse_fps(const char *text, double *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    double fps = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno != 0 || !isfinite(fps) || fps <= 0 || fps > 240) {
        snprintf(err, errlen, "--fps '%.40s': give a number above 0 and at most 240", text);
        return -1;
    }
    *out = fps;
    return 0;
}

static int parse_count(const char *text, unsigned long *out, char *err, size_t errlen) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (!isdigit((unsigned char)*text) || *end != '\0' || errno != 0 || n == 0 || n > 1000000000UL) {
        snprintf(err, errlen, "--max-frames '%.40s': give a whole number from 1 to 1000000000", text);
        return -1;
    }
    *out = n;
    return 0;
}

int args_parse(int argc, char **argv, const char *server_env, const char *ca_env, struct options *out, char *err,
               size_t errlen) {
    memset(out, 0, sizeof *out);
    out->consent = CONSENT_ASK;
    out->fps = 5;
    out->source = "pattern";
    out->ca = ca_env != NULL && *ca_env != '\0' ? ca_env : NULL;
    const char *server = server_env != NULL && *server_env != '\0' ? server_env : DEFAULT_SERVER;
    const char *target = NULL;
    bool have_command = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return 1;
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (strcmp(arg, "--") == 0) {
                if (i + 1 < argc) arg = argv[++i];
                else continue;
            }
            if (!have_command) {
                if (strcmp(arg, "join") != 0) {
                    snprintf(err, errlen, "unknown command '%.40s' (the command is: join)", arg);
                    return -1;
                }
                have_command = true;
            } else if (target == NULL) {
                target = arg;
            } else {
                snprintf(err, errlen, "unexpected argument '%.60s'", arg);
                return -1;
            }
            continue;
        }
        /* --name value or --name=value */
        char name[32];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (name_len >= sizeof name) {
            snprintf(err, errlen, "unknown option '%.40s'", arg);
            return -1;
        }
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        if (strcmp(name, "--no-recording") == 0 || strcmp(name, "--verbose") == 0) {
            if (eq != NULL) {
                snprintf(err, errlen, "%s takes no value", name);
                return -1;
            }
            if (name[2] == 'n') out->no_recording = true;
            else out->verbose = true;
            continue;
        }
        static const char *const valued[] = {"--ca",  "--server",          "--consent",    "--source",
                                             "--fps", "--annotations-out", "--max-frames", NULL};
        bool known = false;
        for (const char *const *v = valued; *v != NULL; v++) known = known || strcmp(*v, name) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown option '%s'", name);
            return -1;
        }
        if (eq != NULL) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else {
            snprintf(err, errlen, "%s needs a value", name);
            return -1;
        }
        if (strcmp(name, "--ca") == 0) out->ca = value;
        else if (strcmp(name, "--server") == 0) server = value;
        else if (strcmp(name, "--source") == 0) out->source = value;
        else if (strcmp(name, "--annotations-out") == 0) out->annotations_out = value;
        else if (strcmp(name, "--fps") == 0) {
            if (parse_fps(value, &out->fps, err, errlen) != 0) return -1;
        } else if (strcmp(name, "--max-frames") == 0) {
            if (parse_count(value, &out->max_frames, err, errlen) != 0) return -1;
        } else if (strcmp(name, "--consent") == 0) {
            if (strcmp(value, "yes") == 0) out->consent = CONSENT_YES;
            else if (strcmp(value, "no") == 0) out->consent = CONSENT_NO;
            else if (strcmp(value, "ask") == 0) out->consent = CONSENT_ASK;
            else {
                snprintf(err, errlen, "--consent '%.40s': give yes, no or ask", value);
                return -1;
            }
        }
    }
    if (!have_command) {
        snprintf(err, errlen, "missing the command: join");
        return -1;
    }
    if (target == NULL) {
        snprintf(err, errlen, "missing the join code or link");
        return -1;
    }
    if (out->ca == NULL || *out->ca == '\0') {
        snprintf(err, errlen, "--ca is required: the PEM file of the CA that signed the broker's certificate");
        return -1;
    }
    if (strncasecmp(target, "https://", 8) == 0 || strncasecmp(target, "http://", 7) == 0) {
        bool dropped;
        if (args_parse_link(target, &out->server, out->code, out->key, &dropped, err, errlen) != 0) return -1;
        if (dropped)
            fprintf(stderr, "Note: the link's key is malformed; joining with the code alone (it is checked as "
                            "typed).\n");
    } else {
        if (args_normalize_code(target, out->code) != 0) {
            snprintf(err, errlen, "'%.60s' is not a join code: it has twelve digits, like 482-913-557-301", target);
            return -1;
        }
        if (args_parse_server(server, &out->server, err, errlen) != 0) return -1;
    }
    return 0;
}
