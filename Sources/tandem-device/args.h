/*
 * The command line of `tandem-device join`, join codes, join links and broker URLs.
 */
#ifndef TANDEM_DEVICE_ARGS_H
#define TANDEM_DEVICE_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CODE_DIGITS 12
#define LINK_KEY_LENGTH 22
#define HOST_MAX 255

/* A broker's base URL, https://HOST[:PORT]. */
struct server {
    char host[HOST_MAX + 1];     /* as written, without brackets (an IPv6 literal bare) */
    char tls_name[HOST_MAX + 1]; /* the name sent as SNI and checked in the certificate */
    int port;
    char url[HOST_MAX + 32]; /* canonical https://host:port, for messages */
};

enum consent_choice { CONSENT_ASK, CONSENT_YES, CONSENT_NO };

struct options {
    struct server server;
    char code[CODE_DIGITS + 1];
    char key[LINK_KEY_LENGTH + 1]; /* empty without a link key */
    const char *ca;
    const char *source;
    const char *annotations_out; /* NULL, a path, or "-" */
    enum consent_choice consent;
    bool no_recording;
    bool verbose;
    double fps;
    unsigned long max_frames; /* 0: no limit */
};

/* Parses argv (argv[0] is the program). 0 on success; -1 with a message in err (a usage
 * error); 1 when help was asked for. `server_env` is TANDEM_SERVER, `ca_env` TANDEM_CA
 * (either may be NULL). */
int args_parse(int argc, char **argv, const char *server_env, const char *ca_env, struct options *out, char *err,
               size_t errlen);

/* The twelve digits of a typed code (dashes and spaces allowed), or -1. */
int args_normalize_code(const char *text, char out[CODE_DIGITS + 1]);

/* Parses https://HOST[:PORT][/] (a base URL, e.g. a redirect). Port 443 when absent. */
int args_parse_server(const char *url, struct server *out, char *err, size_t errlen);

/* Parses a join link https://HOST[:PORT]/j/CODE[#k=KEY]. A malformed key is dropped
 * (*key_dropped set), as the broker would ignore it. */
int args_parse_link(const char *link, struct server *server, char code[CODE_DIGITS + 1],
                    char key[LINK_KEY_LENGTH + 1], bool *key_dropped, char *err, size_t errlen);

/* Whether `key` is 22 base64url characters. */
bool args_valid_key(const char *key);

void args_usage(const char *program, bool full);

#endif
