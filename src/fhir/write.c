/*
 * write.c - the unit of work runs on the store's writer thread: it reads
 * the current version, checks the preconditions, splices meta.versionId and
 * meta.lastUpdated into the text prepared beforehand, and appends the new version. lastUpdated
 * never goes backwards for one resource, even if the wall clock does.
 */
#include "fhir/write.h"

#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "fhir/patch.h"
#include "fhir/resource.h"
#include "fhir/validate.h"

static void free_bodies(struct fhir_write *writes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(writes[i].body);
        writes[i].body = NULL;
    }
}

static enum err apply_one(struct store_tx *tx, struct fhir_write *w)
{
    struct store_current cur;
    enum err err = store_tx_current(tx, w->type, w->id, &cur);
    if (err)
        return err;
    if (w->may_change && cur.version != 0 && !cur.deleted) {
        bool ours = false;
        err = store_tx_search(tx, w->may_change, store_hit_found, &ours, NULL);
        if (err)
            return err;
        if (!ours)
            return ERR_FORBIDDEN;
    }
    /* after the reach: a version conflict would tell an outsider the version */
    if (w->if_match >= 0 && cur.version != w->if_match)
        return ERR_VERSION_CONFLICT;
    w->created = cur.version == 0 || cur.deleted;
    w->noop = false;
    if (w->kind == FHIR_WRITE_CREATE && cur.version != 0)
        return ERR_CONFLICT;
    if (w->kind == FHIR_WRITE_DELETE) {
        if (cur.version == 0)
            return ERR_NOT_FOUND;
        if (cur.deleted) {
            w->noop = true;
            w->version = cur.version;
            w->last_updated = cur.last_updated;
            return ERR_OK;
        }
    }
    int64_t now = time_now_ms();
    struct store_row row;
    memset(&row, 0, sizeof(row));
    row.type = str_from(w->type);
    row.id = str_from(w->id);
    row.version = cur.version + 1;
    row.last_updated = now > cur.last_updated ? now : cur.last_updated;
    row.deleted = w->kind == FHIR_WRITE_DELETE;
    if (!row.deleted) {
        free(w->body);
        w->body = fhir_stamp_render(&w->parts, row.version, row.last_updated, &w->body_len);
        row.body = str_make(w->body, w->body_len);
        row.index = w->index.entries;
        row.index_count = w->index.count;
    }
    err = store_tx_put(tx, &row);
    if (err)
        return err;
    w->version = row.version;
    w->last_updated = row.last_updated;
    return ERR_OK;
}

struct check_state {
    const struct fhir_write_check *check; /* what is expected */
    size_t seen;                          /* hits so far */
    bool differs;                         /* a hit is not the expected one */
};

static bool on_check_hit(const struct store_hit *hit, void *arg)
{
    struct check_state *st = arg;
    if (st->seen >= st->check->count || !str_eq_cstr(hit->id, st->check->ids[st->seen])) {
        st->differs = true;
        return false;
    }
    st->seen++;
    return true;
}

/* ERR_CHANGED unless the check's query still matches exactly its ids. */
static enum err verify(struct store_tx *tx, const struct fhir_write_check *check)
{
    struct store_query q = check->query;
    q.limit = (int)check->count + 1;
    q.want_total = false;
    q.after_key = 0;
    q.nsort = 0;
    struct check_state st = {check, 0, false};
    enum err err = store_tx_search(tx, &q, on_check_hit, &st, NULL);
    if (err)
        return err;
    return st.differs || st.seen != check->count ? ERR_CHANGED : ERR_OK;
}

static enum err run_unit(struct store_tx *tx, void *arg)
{
    struct fhir_write_job *u = arg;
    for (size_t i = 0; i < u->nchecks; i++) {
        enum err err = verify(tx, &u->checks[i]);
        if (err) {
            u->failed = u->count;
            return err;
        }
    }
    for (size_t i = 0; i < u->count; i++) {
        enum err err = apply_one(tx, &u->writes[i]);
        if (err) {
            u->failed = i;
            return err;
        }
    }
    if (u->also) {
        enum err err = u->also(tx, u->also_ctx);
        if (err) {
            u->failed = u->count;
            return err;
        }
    }
    return ERR_OK;
}

/* Serialise here, on the caller's thread: the writer thread only splices. */
static void prepare(struct fhir_write *writes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        writes[i].body = NULL;
        memset(&writes[i].parts, 0, sizeof(writes[i].parts));
        memset(&writes[i].index, 0, sizeof(writes[i].index));
        if (writes[i].kind != FHIR_WRITE_DELETE) {
            fhir_stamp_parts_init(&writes[i].parts, writes[i].resource, writes[i].id);
            fhir_index_compute(&writes[i].index, writes[i].resource);
        }
    }
}

static void conclude(struct fhir_write *writes, size_t count, enum err err)
{
    for (size_t i = 0; i < count; i++) {
        fhir_stamp_parts_release(&writes[i].parts);
        fhir_index_release(&writes[i].index);
    }
    if (err)
        free_bodies(writes, count);
}

enum err fhir_write_run(struct store *s, struct fhir_write *writes, size_t count,
                        size_t *failed_index)
{
    prepare(writes, count);
    struct fhir_write_job job = {writes, count, NULL, 0, NULL, NULL, NULL, NULL, 0};
    enum err err = store_write(s, run_unit, &job);
    conclude(writes, count, err);
    if (err && failed_index)
        *failed_index = job.failed;
    return err;
}

enum err fhir_write_run_job(struct store *s, struct fhir_write_job *job)
{
    prepare(job->writes, job->count);
    job->failed = 0;
    enum err err = store_write(s, run_unit, job);
    conclude(job->writes, job->count, err);
    return err;
}

static void on_store_done(void *arg, enum err result)
{
    struct fhir_write_job *job = arg;
    conclude(job->writes, job->count, result);
    job->done(job->arg, result, job->failed);
}

void fhir_write_submit(struct store *s, struct fhir_write_job *job)
{
    prepare(job->writes, job->count);
    job->failed = 0;
    store_write_async(s, run_unit, job, on_store_done, job);
}

enum err fhir_patch_current(struct store *s, const char *type, const char *id, int64_t if_match,
                            json_object *patch, struct diag *d, json_object **out, int64_t *version)
{
    *out = NULL;
    struct buf cur;
    buf_init(&cur, SIZE_MAX / 2);
    struct store_row row;
    enum err err = store_read(s, type, id, 0, &cur, &row);
    if (!err && row.deleted)
        err = ERR_GONE;
    if (!err && if_match >= 0 && if_match != row.version)
        err = ERR_VERSION_CONFLICT;
    json_object *current = err ? NULL : json_tokener_parse(cur.ptr);
    buf_release(&cur);
    if (err)
        return err;
    json_object *patched = NULL;
    err = fhir_json_patch(current, patch, d, &patched);
    json_object_put(current);
    if (err)
        return err;
    json_object *rt = NULL, *pid = NULL;
    bool same = json_object_get_type(patched) == json_type_object &&
                json_object_object_get_ex(patched, "resourceType", &rt) &&
                json_object_object_get_ex(patched, "id", &pid) &&
                !strcmp(json_object_get_string(rt), type) &&
                !strcmp(json_object_get_string(pid), id);
    if (!same)
        diag_add(d, ERR_UNPROCESSABLE, NULL, "a patch must not change resourceType or id");
    /* FHIR R4: a patch whose result is not a valid resource is 422 */
    if (!same || !fhir_validate_resource(patched, d)) {
        json_object_put(patched);
        return ERR_UNPROCESSABLE;
    }
    *out = patched;
    *version = row.version;
    return ERR_OK;
}
