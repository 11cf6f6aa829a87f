/* config.c - YAML configuration loading with strict checking (see config.h).
 *
 * libyaml loads the document; it is copied into a small tree whose nodes remember their
 * origin (file:line:col, or the --set override they came from) and whether the loader read
 * them. Sections are read with typed getters that check ranges; any map entry left unread at
 * the end is an unknown key, reported with the keys that are allowed there. */
#include "alphanet/io/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---------------------------------------------------------------- tree */

typedef enum { Y_SCALAR, Y_SEQ, Y_MAP } ykind;

typedef struct ynode ynode;
struct ynode {
    ykind kind;
    char *text;      /* scalar */
    int quoted;      /* scalar was quoted: always a string */
    int n, cap;
    ynode **items;   /* seq items or map values */
    char **keys;     /* map keys */
    char **korigin;  /* map keys' positions */
    char origin[160];/* "file:line:col" or "--set key=value" */
    int used;
};

static void yfree(ynode *y)
{
    if (!y) return;
    for (int i = 0; i < y->n; i++) {
        yfree(y->items[i]);
        if (y->keys) free(y->keys[i]);
        if (y->korigin) free(y->korigin[i]);
    }
    free(y->korigin);
    free(y->items);
    free(y->keys);
    free(y->text);
    free(y);
}

static ynode *ynew(ykind k, const char *origin)
{
    ynode *y = calloc(1, sizeof *y);
    if (!y) return NULL;
    y->kind = k;
    snprintf(y->origin, sizeof y->origin, "%s", origin);
    return y;
}

static int yadd(ynode *y, const char *key, const char *korigin, ynode *child)
{
    if (y->n == y->cap) {
        int nc = y->cap ? 2 * y->cap : 8;
        ynode **ni = realloc(y->items, sizeof *ni * nc);
        if (!ni) return 0;
        y->items = ni;
        if (y->kind == Y_MAP) {
            char **nk = realloc(y->keys, sizeof *nk * nc);
            if (!nk) return 0;
            y->keys = nk;
            char **no = realloc(y->korigin, sizeof *no * nc);
            if (!no) return 0;
            y->korigin = no;
        }
        y->cap = nc;
    }
    if (y->kind == Y_MAP) {
        y->keys[y->n] = strdup(key);
        y->korigin[y->n] = strdup(korigin ? korigin : child->origin);
        if (!y->keys[y->n] || !y->korigin[y->n]) return 0;
    }
    y->items[y->n++] = child;
    return 1;
}

/* Copies libyaml node `id` of `doc`. */
static ynode *from_doc(yaml_document_t *doc, yaml_node_t *nd, const char *name, an_status *st)
{
    char origin[160];
    snprintf(origin, sizeof origin, "%s:%zu:%zu", name, nd->start_mark.line + 1, nd->start_mark.column + 1);
    if (nd->type == YAML_SCALAR_NODE) {
        ynode *y = ynew(Y_SCALAR, origin);
        if (!y) { *st = an_error(AN_ERR_NOMEM, "out of memory reading %s", name); return NULL; }
        y->text = strndup((const char *)nd->data.scalar.value, nd->data.scalar.length);
        y->quoted = nd->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    nd->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return y;
    }
    if (nd->type == YAML_SEQUENCE_NODE) {
        ynode *y = ynew(Y_SEQ, origin);
        if (!y) { *st = an_error(AN_ERR_NOMEM, "out of memory reading %s", name); return NULL; }
        for (yaml_node_item_t *it = nd->data.sequence.items.start; it < nd->data.sequence.items.top; it++) {
            ynode *c = from_doc(doc, yaml_document_get_node(doc, *it), name, st);
            if (!c || !yadd(y, NULL, NULL, c)) { yfree(c); yfree(y); if (!*st) *st = AN_ERR_NOMEM; return NULL; }
        }
        return y;
    }
    if (nd->type == YAML_MAPPING_NODE) {
        ynode *y = ynew(Y_MAP, origin);
        if (!y) { *st = an_error(AN_ERR_NOMEM, "out of memory reading %s", name); return NULL; }
        for (yaml_node_pair_t *pr = nd->data.mapping.pairs.start; pr < nd->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = yaml_document_get_node(doc, pr->key);
            if (k->type != YAML_SCALAR_NODE) {
                *st = an_error(AN_ERR_ARG, "%s:%zu:%zu: mapping keys must be plain names", name, k->start_mark.line + 1,
                               k->start_mark.column + 1);
                yfree(y);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            for (int i = 0; i < y->n; i++)
                if (!strcmp(y->keys[i], key)) {
                    *st = an_error(AN_ERR_ARG, "%s:%zu:%zu: duplicate key '%s' (first at %s)", name,
                                   k->start_mark.line + 1, k->start_mark.column + 1, key, y->korigin[i]);
                    yfree(y);
                    return NULL;
                }
            ynode *c = from_doc(doc, yaml_document_get_node(doc, pr->value), name, st);
            char korigin[160];
            snprintf(korigin, sizeof korigin, "%s:%zu:%zu", name, k->start_mark.line + 1, k->start_mark.column + 1);
            if (!c || !yadd(y, key, korigin, c)) { yfree(c); yfree(y); if (!*st) *st = AN_ERR_NOMEM; return NULL; }
        }
        return y;
    }
    *st = an_error(AN_ERR_ARG, "%s: unsupported YAML node", name);
    return NULL;
}

/* Parses a YAML text into a tree. An empty document gives an empty map. */
static an_status parse_tree(const char *text, size_t len, const char *name, ynode **out)
{
    yaml_parser_t p;
    yaml_document_t doc;
    *out = NULL;
    if (!yaml_parser_initialize(&p)) return an_error(AN_ERR_NOMEM, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        an_status st = an_error(AN_ERR_ARG, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, p.problem_mark.line + 1,
                                p.problem_mark.column + 1, p.problem ? p.problem : "unknown problem",
                                p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return st;
    }
    an_status st = AN_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        char origin[160];
        snprintf(origin, sizeof origin, "%s:1:1", name);
        *out = ynew(Y_MAP, origin);
        if (!*out) st = an_error(AN_ERR_NOMEM, "out of memory");
    } else {
        *out = from_doc(&doc, root, name, &st);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return st;
}

static ynode *yget(ynode *map, const char *key)
{
    if (!map || map->kind != Y_MAP) return NULL;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) return map->items[i];
    return NULL;
}

/* --set a.b.c=value: parse value as YAML and put it at the path, creating maps as needed. */
static an_status apply_override(ynode *root, const char *set)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return an_error(AN_ERR_ARG, "--set '%s': expected section.key=value, e.g. --set train.epochs=3", set);
    char path[256];
    size_t plen = (size_t)(eq - set);
    if (plen >= sizeof path) return an_error(AN_ERR_ARG, "--set '%s': key too long", set);
    memcpy(path, set, plen);
    path[plen] = '\0';
    char origin[160];
    snprintf(origin, sizeof origin, "--set %.150s", set);
    ynode *val;
    an_status st = parse_tree(eq + 1, strlen(eq + 1), origin, &val);
    if (st) return st;
    if (!val) return an_error(AN_ERR_ARG, "%s: empty value", origin);
    if (val->kind == Y_MAP && val->n == 0 && eq[1] == '\0') {
        yfree(val);
        return an_error(AN_ERR_ARG, "%s: empty value", origin);
    }
    /* relabel every node of the value with the override as origin */
    ynode *stack[64];
    int sp = 0;
    stack[sp++] = val;
    while (sp) {
        ynode *y = stack[--sp];
        snprintf(y->origin, sizeof y->origin, "%s", origin);
        for (int i = 0; i < y->n && sp < 64; i++) stack[sp++] = y->items[i];
    }
    ynode *cur = root;
    char *save = NULL, *tok = strtok_r(path, ".", &save);
    while (tok) {
        char *next = strtok_r(NULL, ".", &save);
        if (cur->kind != Y_MAP) {
            yfree(val);
            return an_error(AN_ERR_ARG, "%s: '%s' is not inside a section (a list is in the way)", origin, tok);
        }
        ynode *child = yget(cur, tok);
        if (!next) {
            if (child) {
                for (int i = 0; i < cur->n; i++)
                    if (cur->items[i] == child) {
                        yfree(child);
                        cur->items[i] = val;
                    }
            } else if (!yadd(cur, tok, origin, val)) {
                yfree(val);
                return an_error(AN_ERR_NOMEM, "out of memory");
            }
            return AN_OK;
        }
        if (!child) {
            child = ynew(Y_MAP, origin);
            if (!child || !yadd(cur, tok, origin, child)) {
                yfree(child);
                yfree(val);
                return an_error(AN_ERR_NOMEM, "out of memory");
            }
        }
        cur = child;
        tok = next;
    }
    yfree(val);
    return an_error(AN_ERR_ARG, "%s: empty key", origin);
}

/* ---------------------------------------------------------------- typed getters */

typedef struct {
    char section[64]; /* dotted path for messages */
} ctx;

static const char *kind_name(ykind k) { return k == Y_SCALAR ? "a value" : k == Y_SEQ ? "a list" : "a section"; }

static an_status need_scalar(const ynode *y, const char *sec, const char *key, const char *expect)
{
    if (y->kind != Y_SCALAR)
        return an_error(AN_ERR_ARG, "%s: %s.%s: expected %s, got %s", y->origin, sec, key, expect, kind_name(y->kind));
    return AN_OK;
}

/* Optional integer in [lo, hi]; leaves *out alone when absent. */
static an_status get_long(ynode *map, const char *sec, const char *key, long *out, long lo, long hi)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    an_status st = need_scalar(y, sec, key, "an integer");
    if (st) return st;
    char *end;
    errno = 0;
    long v = strtol(y->text, &end, 10);
    if (y->quoted || end == y->text || *end || errno)
        return an_error(AN_ERR_ARG, "%s: %s.%s: expected an integer, got '%s'", y->origin, sec, key, y->text);
    if (v < lo || v > hi)
        return an_error(AN_ERR_ARG, "%s: %s.%s: %ld is out of range (allowed: %ld to %ld)", y->origin, sec, key, v, lo, hi);
    *out = v;
    return AN_OK;
}

static an_status get_int(ynode *map, const char *sec, const char *key, int *out, int lo, int hi)
{
    long v = *out;
    an_status st = get_long(map, sec, key, &v, lo, hi);
    *out = (int)v;
    return st;
}

static an_status get_double(ynode *map, const char *sec, const char *key, double *out, double lo, double hi)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    an_status st = need_scalar(y, sec, key, "a number");
    if (st) return st;
    char *end;
    errno = 0;
    double v = strtod(y->text, &end);
    if (y->quoted || end == y->text || *end || errno || !isfinite(v))
        return an_error(AN_ERR_ARG, "%s: %s.%s: expected a number, got '%s'", y->origin, sec, key, y->text);
    if (v < lo || v > hi)
        return an_error(AN_ERR_ARG, "%s: %s.%s: %g is out of range (allowed: %g to %g)", y->origin, sec, key, v, lo, hi);
    *out = v;
    return AN_OK;
}

static an_status get_bool(ynode *map, const char *sec, const char *key, int *out)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    an_status st = need_scalar(y, sec, key, "true or false");
    if (st) return st;
    const char *t = y->text;
    if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "yes") || !strcmp(t, "on")) *out = 1;
    else if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "no") || !strcmp(t, "off")) *out = 0;
    else return an_error(AN_ERR_ARG, "%s: %s.%s: expected true or false, got '%s'", y->origin, sec, key, t);
    return AN_OK;
}

static an_status get_string(ynode *map, const char *sec, const char *key, char *out, size_t cap)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    an_status st = need_scalar(y, sec, key, "a string");
    if (st) return st;
    if (strlen(y->text) >= cap)
        return an_error(AN_ERR_ARG, "%s: %s.%s: value too long (%zu characters, at most %zu)", y->origin, sec, key,
                        strlen(y->text), cap - 1);
    memcpy(out, y->text, strlen(y->text) + 1);
    return AN_OK;
}

static an_status get_enum(ynode *map, const char *sec, const char *key, int *out, const char *const *names, int n)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    an_status st = need_scalar(y, sec, key, "a name");
    if (st) return st;
    for (int i = 0; i < n; i++)
        if (!strcmp(y->text, names[i])) {
            *out = i;
            return AN_OK;
        }
    char allowed[128] = "";
    for (int i = 0; i < n; i++) {
        strncat(allowed, names[i], sizeof allowed - strlen(allowed) - 1);
        if (i + 1 < n) strncat(allowed, " | ", sizeof allowed - strlen(allowed) - 1);
    }
    return an_error(AN_ERR_ARG, "%s: %s.%s: '%s' is not allowed (allowed: %s)", y->origin, sec, key, y->text, allowed);
}

/* A list of integers (or a single integer) into choices. Required. */
static an_status get_choices(ynode *map, const char *sec, const char *key, an_choices *out, int lo, int hi, int required)
{
    ynode *y = yget(map, key);
    if (!y) {
        if (required) return an_error(AN_ERR_ARG, "%s: %s: missing key '%s' (a list of integers)", map->origin, sec, key);
        return AN_OK;
    }
    y->used = 1;
    an_choices c = {0};
    if (y->kind == Y_MAP)
        return an_error(AN_ERR_ARG, "%s: %s.%s: expected a list of integers like [3, 5], got a section", y->origin, sec, key);
    int n = y->kind == Y_SEQ ? y->n : 1;
    if (n == 0) return an_error(AN_ERR_ARG, "%s: %s.%s: the list is empty (give at least one choice)", y->origin, sec, key);
    if (n > AN_MAX_CHOICES)
        return an_error(AN_ERR_ARG, "%s: %s.%s: %d choices, at most %d allowed", y->origin, sec, key, n, AN_MAX_CHOICES);
    for (int i = 0; i < n; i++) {
        ynode *e = y->kind == Y_SEQ ? y->items[i] : y;
        e->used = 1;
        if (e->kind != Y_SCALAR)
            return an_error(AN_ERR_ARG, "%s: %s.%s: list entries must be integers", e->origin, sec, key);
        char *end;
        long v = strtol(e->text, &end, 10);
        if (e->quoted || end == e->text || *end)
            return an_error(AN_ERR_ARG, "%s: %s.%s: expected an integer, got '%s'", e->origin, sec, key, e->text);
        if (v < lo || v > hi)
            return an_error(AN_ERR_ARG, "%s: %s.%s: %ld is out of range (allowed: %d to %d)", e->origin, sec, key, v, lo, hi);
        if (i > 0 && v <= c.v[i - 1])
            return an_error(AN_ERR_ARG, "%s: %s.%s: choices must be strictly ascending (%ld after %d)", e->origin, sec,
                            key, v, c.v[i - 1]);
        c.v[i] = (int)v;
    }
    c.n = n;
    *out = c;
    return AN_OK;
}

static an_status get_floats(ynode *map, const char *sec, const char *key, float *out, int *n, int max)
{
    ynode *y = yget(map, key);
    if (!y) return AN_OK;
    y->used = 1;
    if (y->kind != Y_SEQ) return an_error(AN_ERR_ARG, "%s: %s.%s: expected a list of numbers", y->origin, sec, key);
    if (y->n < 1 || y->n > max)
        return an_error(AN_ERR_ARG, "%s: %s.%s: expected 1 to %d numbers, got %d", y->origin, sec, key, max, y->n);
    for (int i = 0; i < y->n; i++) {
        ynode *e = y->items[i];
        char *end;
        double v = e->kind == Y_SCALAR ? strtod(e->text, &end) : 0;
        if (e->kind != Y_SCALAR || e->quoted || end == e->text || *end || !isfinite(v))
            return an_error(AN_ERR_ARG, "%s: %s.%s: entry %d is not a number", e->origin, sec, key, i + 1);
        if (fabs(v) > 1e6) /* normalisation constants; beyond float range they would become inf */
            return an_error(AN_ERR_ARG, "%s: %s.%s: entry %d (%g) is out of range (allowed: -1e6 to 1e6)", e->origin,
                            sec, key, i + 1, v);
        out[i] = (float)v;
    }
    *n = y->n;
    return AN_OK;
}

/* A section (map) or NULL if absent; a non-map is an error. */
static an_status get_section(ynode *map, const char *sec, const char *key, ynode **out, int required)
{
    ynode *y = yget(map, key);
    *out = NULL;
    if (!y) {
        if (required) return an_error(AN_ERR_ARG, "%s: missing section '%s%s%s'", map->origin, sec, *sec ? "." : "", key);
        return AN_OK;
    }
    y->used = 1;
    if (y->kind != Y_MAP)
        return an_error(AN_ERR_ARG, "%s: %s%s%s: expected a section of keys, got %s", y->origin, sec, *sec ? "." : "", key,
                        kind_name(y->kind));
    *out = y;
    return AN_OK;
}

/* Unknown keys in a section: any entry not read. */
static an_status check_unknown(ynode *map, const char *sec, const char *const *allowed)
{
    if (!map) return AN_OK;
    for (int i = 0; i < map->n; i++) {
        if (map->items[i]->used) continue;
        char list[512] = "";
        for (int k = 0; allowed[k]; k++) {
            strncat(list, allowed[k], sizeof list - strlen(list) - 1);
            if (allowed[k + 1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        return an_error(AN_ERR_ARG, "%s: unknown key '%s%s%s' (allowed here: %s)", map->korigin[i], sec,
                        *sec ? "." : "", map->keys[i], list);
    }
    return AN_OK;
}

/* ---------------------------------------------------------------- sections */

#define TRY(x) do { an_status _s = (x); if (_s) return _s; } while (0)

static an_status read_space(ynode *root, an_space *s)
{
    ynode *sp, *stem, *stages, *head;
    TRY(get_section(root, "", "space", &sp, 1));
    memset(s, 0, sizeof *s);
    s->in_channels = 3;
    s->classes = 1000;
    s->stem_stride = 2;
    s->head_expand = 6;
    TRY(get_int(sp, "space", "in_channels", &s->in_channels, 1, 16));
    TRY(get_int(sp, "space", "classes", &s->classes, 2, 100000));
    TRY(get_choices(sp, "space", "resolutions", &s->resolution, 8, 1024, 1));
    TRY(get_section(sp, "space", "stem", &stem, 1));
    TRY(get_choices(stem, "space.stem", "width", &s->stem_width, 1, 4096, 1));
    TRY(get_int(stem, "space.stem", "stride", &s->stem_stride, 1, 2));
    static const char *const stem_keys[] = {"width", "stride", NULL};
    TRY(check_unknown(stem, "space.stem", stem_keys));
    stages = yget(sp, "stages");
    if (!stages) return an_error(AN_ERR_ARG, "%s: space: missing key 'stages' (a list of stages)", sp->origin);
    stages->used = 1;
    if (stages->kind != Y_SEQ || stages->n < 1)
        return an_error(AN_ERR_ARG, "%s: space.stages: expected a non-empty list of stages", stages->origin);
    if (stages->n > AN_MAX_STAGES)
        return an_error(AN_ERR_ARG, "%s: space.stages: %d stages, at most %d", stages->origin, stages->n, AN_MAX_STAGES);
    s->nstages = stages->n;
    for (int i = 0; i < stages->n; i++) {
        ynode *g = stages->items[i];
        char sec[48];
        snprintf(sec, sizeof sec, "space.stages[%d]", i);
        if (g->kind != Y_MAP) return an_error(AN_ERR_ARG, "%s: %s: expected a section of keys", g->origin, sec);
        g->used = 1;
        an_stage_space *st = &s->stage[i];
        snprintf(st->name, sizeof st->name, "mb%d", i + 1);
        TRY(get_string(g, sec, "name", st->name, sizeof st->name));
        snprintf(sec, sizeof sec, "space.stages[%d] (%s)", i, st->name);
        TRY(get_choices(g, sec, "width", &st->width, 1, 8192, 1));
        TRY(get_choices(g, sec, "depth", &st->depth, 1, 64, 1));
        TRY(get_choices(g, sec, "kernel", &st->kernel, 1, 15, 1));
        TRY(get_choices(g, sec, "expand", &st->expand, 1, 16, 1));
        st->stride = 1;
        TRY(get_int(g, sec, "stride", &st->stride, 1, 2));
        TRY(get_bool(g, sec, "se", &st->se));
        static const char *const stage_keys[] = {"name", "width", "depth", "kernel", "expand", "stride", "se", NULL};
        TRY(check_unknown(g, sec, stage_keys));
    }
    TRY(get_section(sp, "space", "head", &head, 1));
    TRY(get_int(head, "space.head", "expand", &s->head_expand, 1, 16));
    TRY(get_choices(head, "space.head", "mix_width", &s->mix_width, 1, 16384, 1));
    static const char *const head_keys[] = {"expand", "mix_width", NULL};
    TRY(check_unknown(head, "space.head", head_keys));
    static const char *const space_keys[] = {"in_channels", "classes", "resolutions", "stem", "stages", "head", NULL};
    TRY(check_unknown(sp, "space", space_keys));
    an_status st = an_space_validate(s);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", an_error_message());
        return an_error(st, "%s: %s", sp->origin, why);
    }
    return AN_OK;
}

static const char *const distill_names[] = {"alpha", "kl", "none"};
static const char *const augment_names[] = {"auto", "pad-crop", "random-resized-crop"};

const char *an_augment_name(int a) { return a >= 0 && a <= AN_AUG_RRC ? augment_names[a] : "?"; }

const char *an_distill_name(an_distill_kind k) { return k >= 0 && k <= AN_DISTILL_NONE ? distill_names[k] : "?"; }

static void defaults(an_config *c)
{
    an_data_cfg *d = &c->data;
    snprintf(d->dataset, sizeof d->dataset, "fashion-mnist");
    snprintf(d->dir, sizeof d->dir, "/usr/share/datasets/fashion-mnist");
    d->validation = 5000;
    d->crop_padding = 2;
    d->hflip = 1;
    d->nchannels_norm = 1;
    d->mean[0] = 0.2860f;
    d->std[0] = 0.3530f;
    d->eval_crop = 0.875f;
    d->scale[0] = 0.08f, d->scale[1] = 1.0f;
    d->ratio[0] = 3.0f / 4.0f, d->ratio[1] = 4.0f / 3.0f;
    d->workers = 1;
    d->prefetch = 1;
    d->synthetic_images = 12800;
    an_train_cfg *t = &c->train;
    t->seed = 1;
    t->epochs = 10;
    t->batch = 128;
    t->lr = 0.1;
    t->momentum = 0.9;
    t->nesterov = 1;
    t->weight_decay = 1e-5;
    t->warmup_epochs = 5;
    t->label_smoothing = 0.1;
    t->grad_clip = 1.0;
    t->dropout = 0.2;
    t->drop_connect = 0.2;
    t->distill = AN_DISTILL_ALPHA;
    t->alpha_min = -1.0;
    t->alpha_max = 1.0;
    t->iw_clip = 5.0;
    t->num_random = 2;
    t->sandwich = 1;
    c->eval.every_epochs = 1;
    c->eval.calib_batches = 16;
    c->eval.batch = 256;
    snprintf(c->run.dir, sizeof c->run.dir, "runs/run");
    c->run.log_every = 50;
    c->run.checkpoint = 1;
    c->run.checkpoint_every = 1000;
    c->run.checkpoint_minutes = 10;
    c->run.keep_checkpoints = 3;
    snprintf(c->run.resume, sizeof c->run.resume, "none");
    t->micro_batches = 1;
    t->max_skips = 20;
    c->dist.check_every = 100;
    c->search = (an_search_cfg){.seed = 1, .population = 64, .parents = 16, .mutations = 24, .crossovers = 24,
                                .generations = 10, .mutate_prob = 0.2, .crossover_prob = 0.5, .calib_batches = 8,
                                .val_images = 0, .bucket_mflops = 1.0};
}

static an_status read_rest(ynode *root, an_config *c)
{
    ynode *d, *t, *e, *r;
    TRY(get_section(root, "", "data", &d, 0));
    if (d) {
        static const char *const ds[] = {"fashion-mnist", "hdf5", "synthetic"};
        int kind = 0;
        for (int i = 0; i < 3; i++)
            if (!strcmp(c->data.dataset, ds[i])) kind = i;
        TRY(get_enum(d, "data", "dataset", &kind, ds, 3));
        snprintf(c->data.dataset, sizeof c->data.dataset, "%s", ds[kind]);
        TRY(get_string(d, "data", "dir", c->data.dir, sizeof c->data.dir));
        TRY(get_int(d, "data", "validation", &c->data.validation, 0, 10000000));
        TRY(get_int(d, "data", "crop_padding", &c->data.crop_padding, 0, 64));
        TRY(get_bool(d, "data", "hflip", &c->data.hflip));
        int nm = c->data.nchannels_norm, ns = nm;
        TRY(get_floats(d, "data", "mean", c->data.mean, &nm, 4));
        TRY(get_floats(d, "data", "std", c->data.std, &ns, 4));
        if (nm != ns)
            return an_error(AN_ERR_ARG, "%s: data: mean has %d entries but std has %d", d->origin, nm, ns);
        for (int i = 0; i < ns; i++)
            if (!(c->data.std[i] > 0))
                return an_error(AN_ERR_ARG, "%s: data.std: entry %d must be positive", d->origin, i + 1);
        c->data.nchannels_norm = nm;
        TRY(get_long(d, "data", "limit", &c->data.limit, 0, 1000000000));
        TRY(get_long(d, "data", "test_limit", &c->data.test_limit, 0, 1000000000));
        TRY(get_enum(d, "data", "augment", &c->data.augment, augment_names, 3));
        TRY(get_int(d, "data", "image_size", &c->data.image_size, 0, 4096));
        double ec = c->data.eval_crop;
        TRY(get_double(d, "data", "eval_crop", &ec, 0.05, 1.0));
        c->data.eval_crop = (float)ec;
        int n2 = 2;
        TRY(get_floats(d, "data", "scale", c->data.scale, &n2, 2));
        if (n2 != 2 || !(c->data.scale[0] > 0 && c->data.scale[0] <= c->data.scale[1] && c->data.scale[1] <= 1))
            return an_error(AN_ERR_ARG, "%s: data.scale must be [min, max] with 0 < min <= max <= 1", d->origin);
        n2 = 2;
        TRY(get_floats(d, "data", "ratio", c->data.ratio, &n2, 2));
        if (n2 != 2 || !(c->data.ratio[0] > 0 && c->data.ratio[0] <= c->data.ratio[1] && c->data.ratio[1] < 100))
            return an_error(AN_ERR_ARG, "%s: data.ratio must be [min, max] with 0 < min <= max < 100", d->origin);
        TRY(get_int(d, "data", "workers", &c->data.workers, 1, 256));
        TRY(get_bool(d, "data", "prefetch", &c->data.prefetch));
        TRY(get_long(d, "data", "synthetic_images", &c->data.synthetic_images, 1, 100000000));
        static const char *const keys[] = {"dataset", "dir", "validation", "crop_padding", "hflip", "mean", "std", "limit",
                                           "test_limit", "augment", "image_size", "eval_crop", "scale", "ratio", "workers",
                                           "prefetch", "synthetic_images", NULL};
        TRY(check_unknown(d, "data", keys));
    }
    if (c->data.nchannels_norm != c->space.in_channels)
        return an_error(AN_ERR_ARG, "%s: data.mean/std have %d entries but space.in_channels is %d",
                        d ? d->origin : root->origin, c->data.nchannels_norm, c->space.in_channels);
    TRY(get_section(root, "", "train", &t, 0));
    if (t) {
        an_train_cfg *x = &c->train;
        int dk = (int)x->distill;
        TRY(get_long(t, "train", "seed", &x->seed, 0, 0x7fffffffL));
        TRY(get_double(t, "train", "epochs", &x->epochs, 0, 100000));
        TRY(get_int(t, "train", "batch", &x->batch, 1, 1 << 20));
        TRY(get_double(t, "train", "lr", &x->lr, 0, 100));
        TRY(get_double(t, "train", "momentum", &x->momentum, 0, 0.9999));
        TRY(get_bool(t, "train", "nesterov", &x->nesterov));
        TRY(get_double(t, "train", "weight_decay", &x->weight_decay, 0, 1));
        TRY(get_double(t, "train", "warmup_epochs", &x->warmup_epochs, 0, 100000));
        TRY(get_double(t, "train", "label_smoothing", &x->label_smoothing, 0, 0.999));
        TRY(get_double(t, "train", "grad_clip", &x->grad_clip, 0, 1e6));
        TRY(get_double(t, "train", "dropout", &x->dropout, 0, 0.95));
        TRY(get_double(t, "train", "drop_connect", &x->drop_connect, 0, 0.95));
        TRY(get_enum(t, "train", "distill", &dk, distill_names, 3));
        x->distill = (an_distill_kind)dk;
        TRY(get_double(t, "train", "alpha_min", &x->alpha_min, -100, 100));
        TRY(get_double(t, "train", "alpha_max", &x->alpha_max, -100, 100));
        TRY(get_double(t, "train", "iw_clip", &x->iw_clip, 1e-6, 1e12));
        TRY(get_int(t, "train", "num_random", &x->num_random, 0, 64));
        TRY(get_bool(t, "train", "sandwich", &x->sandwich));
        TRY(get_double(t, "train", "distill_warmup_epochs", &x->distill_warmup_epochs, 0, 100000));
        TRY(get_long(t, "train", "max_steps", &x->max_steps, 0, 1L << 40));
        TRY(get_int(t, "train", "micro_batches", &x->micro_batches, 1, 1 << 20));
        static const char *const nf[] = {"stop", "skip"};
        TRY(get_enum(t, "train", "nonfinite", &x->nonfinite_skip, nf, 2));
        TRY(get_int(t, "train", "max_skips", &x->max_skips, 0, 1 << 30));
        static const char *const keys[] = {"seed", "epochs", "batch", "lr", "momentum", "nesterov", "weight_decay",
                                           "warmup_epochs", "label_smoothing", "grad_clip", "dropout", "drop_connect",
                                           "distill", "alpha_min", "alpha_max", "iw_clip", "num_random", "sandwich",
                                           "distill_warmup_epochs", "max_steps", "micro_batches", "nonfinite", "max_skips",
                                           NULL};
        TRY(check_unknown(t, "train", keys));
        if (x->micro_batches > x->batch)
            return an_error(AN_ERR_ARG, "%s: train: micro_batches (%d) must not exceed batch (%d)", t->origin,
                            x->micro_batches, x->batch);
        if (x->alpha_min >= x->alpha_max)
            return an_error(AN_ERR_ARG, "%s: train: alpha_min (%g) must be smaller than alpha_max (%g)", t->origin,
                            x->alpha_min, x->alpha_max);
    }
    TRY(get_section(root, "", "eval", &e, 0));
    if (e) {
        TRY(get_double(e, "eval", "every_epochs", &c->eval.every_epochs, 0, 100000));
        TRY(get_int(e, "eval", "calib_batches", &c->eval.calib_batches, 1, 1000000));
        TRY(get_int(e, "eval", "batch", &c->eval.batch, 1, 1 << 20));
        ynode *ar = yget(e, "archs");
        if (ar) {
            ar->used = 1;
            if (ar->kind != Y_SEQ || ar->n > AN_MAX_EVAL_ARCHS)
                return an_error(AN_ERR_ARG, "%s: eval.archs: expected a list of at most %d arch strings", ar->origin,
                                AN_MAX_EVAL_ARCHS);
            for (int i = 0; i < ar->n; i++) {
                ynode *it = ar->items[i];
                an_arch tmp;
                if (it->kind != Y_SCALAR || strlen(it->text) >= AN_ARCH_TEXT_MAX)
                    return an_error(AN_ERR_ARG, "%s: eval.archs: entry %d must be an arch string", it->origin, i + 1);
                if (an_arch_parse(&c->space, it->text, &tmp)) {
                    char why[512];
                    snprintf(why, sizeof why, "%s", an_error_message());
                    return an_error(AN_ERR_ARG, "%s: eval.archs: entry %d: %s", it->origin, i + 1, why);
                }
                snprintf(c->eval.archs[i], AN_ARCH_TEXT_MAX, "%s", it->text);
            }
            c->eval.narchs = ar->n;
        }
        static const char *const keys[] = {"every_epochs", "calib_batches", "batch", "archs", NULL};
        TRY(check_unknown(e, "eval", keys));
    }
    TRY(get_section(root, "", "run", &r, 0));
    if (r) {
        TRY(get_string(r, "run", "dir", c->run.dir, sizeof c->run.dir));
        TRY(get_int(r, "run", "log_every", &c->run.log_every, 1, 1 << 30));
        TRY(get_bool(r, "run", "checkpoint", &c->run.checkpoint));
        TRY(get_long(r, "run", "checkpoint_every", &c->run.checkpoint_every, 0, 1L << 40));
        TRY(get_double(r, "run", "checkpoint_minutes", &c->run.checkpoint_minutes, 0, 1e6));
        TRY(get_int(r, "run", "keep_checkpoints", &c->run.keep_checkpoints, 1, 1000000));
        TRY(get_string(r, "run", "resume", c->run.resume, sizeof c->run.resume));
        if (!c->run.resume[0])
            return an_error(AN_ERR_ARG, "%s: run.resume: expected none, auto or a checkpoint file", r->origin);
        static const char *const keys[] = {"dir", "log_every", "checkpoint", "checkpoint_every", "checkpoint_minutes",
                                           "keep_checkpoints", "resume", NULL};
        TRY(check_unknown(r, "run", keys));
    }
    ynode *ds;
    TRY(get_section(root, "", "dist", &ds, 0));
    if (ds) {
        TRY(get_bool(ds, "dist", "balance", &c->dist.balance));
        TRY(get_int(ds, "dist", "check_every", &c->dist.check_every, 0, 1 << 30));
        static const char *const keys[] = {"balance", "check_every", NULL};
        TRY(check_unknown(ds, "dist", keys));
    }
    ynode *se;
    TRY(get_section(root, "", "search", &se, 0));
    if (se) {
        an_search_cfg *x = &c->search;
        TRY(get_long(se, "search", "seed", &x->seed, 0, 0x7fffffffL));
        TRY(get_int(se, "search", "population", &x->population, 1, 1 << 20));
        TRY(get_int(se, "search", "parents", &x->parents, 1, 1 << 20));
        TRY(get_int(se, "search", "mutations", &x->mutations, 0, 1 << 20));
        TRY(get_int(se, "search", "crossovers", &x->crossovers, 0, 1 << 20));
        TRY(get_int(se, "search", "generations", &x->generations, 0, 100000));
        TRY(get_double(se, "search", "mutate_prob", &x->mutate_prob, 0, 1));
        TRY(get_double(se, "search", "crossover_prob", &x->crossover_prob, 0, 1));
        TRY(get_int(se, "search", "calib_batches", &x->calib_batches, 1, 1000000));
        TRY(get_long(se, "search", "val_images", &x->val_images, 0, 1L << 40));
        TRY(get_double(se, "search", "bucket_mflops", &x->bucket_mflops, 1e-6, 1e9));
        static const char *const keys[] = {"seed", "population", "parents", "mutations", "crossovers", "generations",
                                           "mutate_prob", "crossover_prob", "calib_batches", "val_images",
                                           "bucket_mflops", NULL};
        TRY(check_unknown(se, "search", keys));
        if (x->parents > x->population)
            return an_error(AN_ERR_ARG, "%s: search: parents (%d) must not exceed population (%d)", se->origin,
                            x->parents, x->population);
    }
    static const char *const top[] = {"space", "data", "train", "eval", "run", "dist", "search", NULL};
    TRY(check_unknown(root, "", top));
    return AN_OK;
}

an_status an_config_parse(an_config *c, const char *text, size_t len, const char *name, int nset, char *const *sets)
{
    memset(c, 0, sizeof *c);
    defaults(c);
    ynode *root = NULL;
    an_status st = parse_tree(text, len, name, &root);
    if (st) return st;
    if (root->kind != Y_MAP) {
        st = an_error(AN_ERR_ARG, "%s: the configuration must be a section of keys (space, data, train, eval, run, dist, search)",
                      root->origin);
        goto done;
    }
    for (int i = 0; i < nset; i++)
        if ((st = apply_override(root, sets[i]))) goto done;
    if ((st = read_space(root, &c->space))) goto done;
    st = read_rest(root, c);
done:
    yfree(root);
    return st;
}

an_status an_config_load(an_config *c, const char *path, int nset, char *const *sets)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return an_error(AN_ERR_IO, "cannot open config '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 16384;
            if (cap > ((size_t)16 << 20)) {
                free(buf);
                fclose(fp);
                return an_error(AN_ERR_ARG, "config '%s' is larger than 16 MiB: not a configuration file?", path);
            }
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(fp); return an_error(AN_ERR_NOMEM, "out of memory reading '%s'", path); }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, 4096, fp);
        len += got;
        if (got < 4096) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) { free(buf); return an_error(AN_ERR_IO, "error reading config '%s'", path); }
    buf[len] = '\0';
    an_status st = an_config_parse(c, buf, len, path, nset, sets);
    free(buf);
    if (!st) snprintf(c->path, sizeof c->path, "%s", path);
    return st;
}

/* ---------------------------------------------------------------- dump */

static void dump_choices(FILE *fp, const an_choices *c)
{
    fputc('[', fp);
    for (int i = 0; i < c->n; i++) fprintf(fp, "%s%d", i ? ", " : "", c->v[i]);
    fputc(']', fp);
}

/* A YAML double-quoted scalar: quotes, backslashes and control characters escaped, so that any
 * string (a path with a quote in it, a stage name with a colon) loads back unchanged. */
static void yaml_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) fprintf(fp, "\\x%02x", *p);
        else fputc(*p, fp);
    }
    fputc('"', fp);
}

void an_config_dump(const an_config *c, FILE *fp)
{
    const an_space *s = &c->space;
    fprintf(fp, "space:\n  in_channels: %d\n  classes: %d\n  resolutions: ", s->in_channels, s->classes);
    dump_choices(fp, &s->resolution);
    fprintf(fp, "\n  stem: {width: ");
    dump_choices(fp, &s->stem_width);
    fprintf(fp, ", stride: %d}\n  stages:\n", s->stem_stride);
    for (int i = 0; i < s->nstages; i++) {
        const an_stage_space *g = &s->stage[i];
        fprintf(fp, "    - {name: ");
        yaml_str(fp, g->name);
        fprintf(fp, ", width: ");
        dump_choices(fp, &g->width);
        fprintf(fp, ", depth: ");
        dump_choices(fp, &g->depth);
        fprintf(fp, ", kernel: ");
        dump_choices(fp, &g->kernel);
        fprintf(fp, ", expand: ");
        dump_choices(fp, &g->expand);
        fprintf(fp, ", stride: %d, se: %s}\n", g->stride, g->se ? "true" : "false");
    }
    fprintf(fp, "  head: {expand: %d, mix_width: ", s->head_expand);
    dump_choices(fp, &s->mix_width);
    fprintf(fp, "}\n");
    const an_data_cfg *d = &c->data;
    fprintf(fp, "data:\n  dataset: %s\n  dir: ", d->dataset);
    yaml_str(fp, d->dir);
    fprintf(fp, "\n  validation: %d\n  crop_padding: %d\n  hflip: %s\n  mean: [", d->validation, d->crop_padding,
            d->hflip ? "true" : "false");
    for (int i = 0; i < d->nchannels_norm; i++) fprintf(fp, "%s%.9g", i ? ", " : "", d->mean[i]);
    fprintf(fp, "]\n  std: [");
    for (int i = 0; i < d->nchannels_norm; i++) fprintf(fp, "%s%.9g", i ? ", " : "", d->std[i]);
    fprintf(fp, "]\n  limit: %ld\n  test_limit: %ld\n", d->limit, d->test_limit);
    fprintf(fp,
            "  augment: %s\n  image_size: %d\n  eval_crop: %.9g\n  scale: [%.9g, %.9g]\n  ratio: [%.9g, %.9g]\n"
            "  workers: %d\n  prefetch: %s\n  synthetic_images: %ld\n",
            an_augment_name(d->augment), d->image_size, d->eval_crop, d->scale[0], d->scale[1], d->ratio[0], d->ratio[1],
            d->workers, d->prefetch ? "true" : "false", d->synthetic_images);
    const an_train_cfg *t = &c->train;
    fprintf(fp,
            "train:\n  seed: %ld\n  epochs: %.17g\n  batch: %d\n  lr: %.17g\n  momentum: %.17g\n  nesterov: %s\n"
            "  weight_decay: %.17g\n  warmup_epochs: %.17g\n  label_smoothing: %.17g\n  grad_clip: %.17g\n"
            "  dropout: %.17g\n  drop_connect: %.17g\n  distill: %s\n  alpha_min: %.17g\n  alpha_max: %.17g\n"
            "  iw_clip: %.17g\n  num_random: %d\n  sandwich: %s\n  distill_warmup_epochs: %.17g\n  max_steps: %ld\n"
            "  micro_batches: %d\n  nonfinite: %s\n  max_skips: %d\n",
            t->seed, t->epochs, t->batch, t->lr, t->momentum, t->nesterov ? "true" : "false", t->weight_decay,
            t->warmup_epochs, t->label_smoothing, t->grad_clip, t->dropout, t->drop_connect, an_distill_name(t->distill),
            t->alpha_min, t->alpha_max, t->iw_clip, t->num_random, t->sandwich ? "true" : "false",
            t->distill_warmup_epochs, t->max_steps, t->micro_batches, t->nonfinite_skip ? "skip" : "stop", t->max_skips);
    fprintf(fp, "eval:\n  every_epochs: %.17g\n  calib_batches: %d\n  batch: %d\n  archs: [", c->eval.every_epochs,
            c->eval.calib_batches, c->eval.batch);
    for (int i = 0; i < c->eval.narchs; i++) {
        fputs(i ? ", " : "", fp);
        yaml_str(fp, c->eval.archs[i]);
    }
    fprintf(fp, "]\n");
    fprintf(fp, "run:\n  dir: ");
    yaml_str(fp, c->run.dir);
    fprintf(fp, "\n  log_every: %d\n  checkpoint: %s\n  checkpoint_every: %ld\n  checkpoint_minutes: %.17g\n"
                "  keep_checkpoints: %d\n  resume: ",
            c->run.log_every, c->run.checkpoint ? "true" : "false", c->run.checkpoint_every, c->run.checkpoint_minutes,
            c->run.keep_checkpoints);
    yaml_str(fp, c->run.resume);
    fputc('\n', fp);
    fprintf(fp, "dist:\n  balance: %s\n  check_every: %d\n", c->dist.balance ? "true" : "false", c->dist.check_every);
    const an_search_cfg *x = &c->search;
    fprintf(fp,
            "search:\n  seed: %ld\n  population: %d\n  parents: %d\n  mutations: %d\n  crossovers: %d\n"
            "  generations: %d\n  mutate_prob: %.17g\n  crossover_prob: %.17g\n  calib_batches: %d\n"
            "  val_images: %ld\n  bucket_mflops: %.17g\n",
            x->seed, x->population, x->parents, x->mutations, x->crossovers, x->generations, x->mutate_prob,
            x->crossover_prob, x->calib_batches, x->val_images, x->bucket_mflops);
}
