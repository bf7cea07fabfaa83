/*
 * config.h - the configuration of one process, built from the table in
 * config_options.def. Precedence: default < file < environment < flags.
 * After config_load() the struct is read-only and may be shared by threads.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"

struct config {
    const char *data_dir;            /* directory of the database file */
    const char *host;                /* listen address */
    int port;                        /* listen port; 0 = any free port */
    int threads;                     /* HTTP worker threads */
    int max_connections;             /* accepted at once */
    int timeout_s;                   /* idle connection timeout */
    int max_connections_per_address; /* concurrent connections per client address; 0 = any */
    int request_timeout_s;           /* longest time to receive one request body */
    const char *trusted_proxies;     /* reverse proxies trusted for X-Forwarded-For, or "" */
    const char *base_url;            /* "" = derive from Host */
    const char *web_dir;             /* the console's files, or "" */
    int max_body_bytes;              /* request body cap */
    int max_url_bytes;               /* request URL cap */
    int max_json_depth;              /* JSON nesting cap */
    int max_string_bytes;            /* longest JSON string in a request */
    int max_array_items;             /* longest JSON array in a request */
    int default_count;               /* default page size */
    int max_count;                   /* page size cap */
    int max_bundle_entries;          /* entries in one batch/transaction Bundle */
    int max_includes;                /* included resources per search page */
    int max_conditional_delete;      /* resources one conditional delete may remove */
    int busy_timeout_ms;             /* SQLite busy timeout for readers */
    int cache_mb;                    /* writer page cache, MiB */
    int reader_cache_mb;             /* page cache per reader, MiB */
    int mmap_mb;                     /* memory-mapped I/O size, MiB */
    int max_db_mb;                   /* database size limit, MiB (0 = none) */
    int max_batch;                   /* group-commit batch cap */
    int checkpoint_mb;               /* store.checkpoint_mb */
    int hl7_mllp_port;               /* hl7.mllp_port: -1 off */
    const char *hl7_mllp_host;       /* hl7.mllp_host */
    int hl7_max_message_kb;          /* hl7.max_message_kb */
    int hl7_max_connections;         /* hl7.max_connections */
    int hl7_idle_timeout_s;          /* hl7.idle_timeout_s */
    const char *hl7_time_zone;       /* hl7.time_zone: "+08:00" */
    int recognition_refuse_charges;  /* recognition.refuse_charges: 1 = on */
    int inpatient_borrow_floors; /* inpatient.borrow_floors: floors a borrowed bed may be away */
    int inpatient_preadm_days;   /* inpatient.pre_admission_days */
    int inpatient_preadm_extended_days; /* inpatient.pre_admission_extended_days */
    int inpatient_day_max_asa;          /* inpatient.day_surgery_max_asa */
    int inpatient_day_escort;           /* inpatient.day_surgery_escort: 1 = needed */
    int inpatient_day_min_pads;         /* inpatient.day_surgery_min_pads */
    int inpatient_sweep_s;              /* inpatient.sweep_s: 0 off */
    int inpatient_readmission_days;     /* inpatient.readmission_days */
    const char *log_level;              /* error|warn|info|debug */
    int access_log;                     /* 1 = one line per request */
    int auth_access_ttl_s;              /* access token lifetime, s */
    int auth_refresh_ttl_s;             /* refresh token lifetime, s */
    int auth_max_failed_logins;         /* failed logins in a row before a lock-out */
    int auth_lockout_s;                 /* lock-out duration, s */
    int limit_address_rps;              /* requests/s per client address; 0 = no limit */
    int limit_address_burst;            /* at once */
    int limit_user_rps;                 /* requests/s per account; 0 = no limit */
    int limit_user_burst;               /* at once */
    char *owned_strings;                /* private: arena of string values */
    size_t owned_len;                   /* private */
};

/* Fill every field with its built-in default. */
void config_init(struct config *c);
/* Free strings owned by the config. */
void config_release(struct config *c);
/*
 * Set one option by name ("server.port") from text. On a bad name or value,
 * writes a one-line reason to errbuf and returns ERR_CONFIG.
 */
enum err config_set(struct config *c, const char *name, const char *value, struct buf *errbuf);
/* Like config_set, by command-line flag name ("port"). */
enum err config_set_flag(struct config *c, const char *flag, const char *value, struct buf *errbuf);
/* Read "name = value" lines (# comments) from path. */
enum err config_load_file(struct config *c, const char *path, struct buf *errbuf);
/* The same from an open stream; name labels error messages ("name:3: ..."). */
enum err config_load_stream(struct config *c, FILE *f, const char *name, struct buf *errbuf);
/* Apply every YUJIAN_* environment variable that names an option. */
enum err config_load_env(struct config *c, struct buf *errbuf);
/* Print the options as "--flag VALUE  help (default, env)" lines. */
void config_print_help(FILE *out);
/* Print docs/config.md (a Markdown table of every option). */
void config_print_markdown(FILE *out);

#endif
