/* prefetch.c - one background thread and two batch buffers (see prefetch.h). */
#include "alphanet/io/prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *x;
    int *labels;
    long *idx; /* the samples the buffer holds (or is being filled with) */
    int n, train;
    uint64_t seed;
    long epoch;
    int valid;      /* holds exactly that batch */
} slot;

struct an_prefetch {
    const an_dataset *d;
    const an_data_cfg *dc;
    int nmax, background;
    slot s[2];
    int cur;       /* the slot handed out by the last get() */
    int job;       /* the slot being filled in the background, or -1 */
    int busy, quit;
    an_status job_st;
    char job_msg[1024];
    double waited;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static an_status fill(an_prefetch *p, slot *s)
{
    return an_make_batch(s->x, s->labels, p->d, s->idx, s->n, p->dc, s->train, s->seed, s->epoch);
}

static void *run(void *arg)
{
    an_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !(p->job >= 0 && p->busy)) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        slot *s = &p->s[p->job];
        pthread_mutex_unlock(&p->mu);
        const an_status st = fill(p, s);
        pthread_mutex_lock(&p->mu);
        p->job_st = st;
        if (st) snprintf(p->job_msg, sizeof p->job_msg, "%s", an_error_message());
        s->valid = st == AN_OK;
        p->busy = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

an_status an_prefetch_create(an_prefetch **out, const an_dataset *d, const an_data_cfg *dc, int nmax, int background)
{
    an_prefetch *p = calloc(1, sizeof *p);
    if (!p) return an_error(AN_ERR_NOMEM, "out of memory");
    p->d = d, p->dc = dc, p->nmax = nmax, p->background = background;
    p->job = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    const size_t xs = (size_t)d->c * d->h * d->w * nmax * sizeof(float);
    for (int k = 0; k < (background ? 2 : 1); k++) {
        slot *s = &p->s[k];
        s->x = an_alloc(xs);
        s->labels = malloc((size_t)nmax * sizeof(int));
        s->idx = malloc((size_t)nmax * sizeof(long));
        if (!s->x || !s->labels || !s->idx) {
            an_prefetch_free(p);
            return an_error(AN_ERR_NOMEM, "out of memory for batch buffers of %d images of %dx%dx%d", nmax, d->h, d->w,
                            d->c);
        }
    }
    if (background) {
        if (pthread_create(&p->th, NULL, run, p) != 0) {
            an_prefetch_free(p);
            return an_error(AN_ERR_INTERNAL, "cannot start the prefetch thread");
        }
        p->started = 1;
    }
    *out = p;
    return AN_OK;
}

/* the slot was asked for exactly this batch */
static int asked(const slot *s, const long *idx, int n, int train, uint64_t seed, long epoch)
{
    return s->n == n && s->train == train && s->seed == seed && s->epoch == epoch &&
           !memcmp(s->idx, idx, (size_t)n * sizeof(long));
}

/* waits for the background job, if any (lock held) */
static void wait_job(an_prefetch *p)
{
    while (p->busy) pthread_cond_wait(&p->cv, &p->mu);
}

void an_prefetch_submit(an_prefetch *p, const long *idx, int n, int train, uint64_t seed, long epoch)
{
    if (!p->background || n > p->nmax) return;
    pthread_mutex_lock(&p->mu);
    wait_job(p);
    slot *s = &p->s[1 - p->cur];
    memcpy(s->idx, idx, (size_t)n * sizeof(long));
    s->n = n, s->train = train, s->seed = seed, s->epoch = epoch, s->valid = 0;
    p->job = 1 - p->cur;
    p->busy = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

an_status an_prefetch_get(an_prefetch *p, const long *idx, int n, int train, uint64_t seed, long epoch, float **x,
                          int **labels)
{
    if (n > p->nmax) return an_error(AN_ERR_INTERNAL, "batch of %d samples for buffers of %d", n, p->nmax);
    const double t0 = an_now();
    an_status st = AN_OK;
    slot *s;
    if (p->background) {
        pthread_mutex_lock(&p->mu);
        wait_job(p);
        const int j = p->job;
        p->job = -1;
        pthread_mutex_unlock(&p->mu);
        if (j >= 0 && p->s[j].valid && asked(&p->s[j], idx, n, train, seed, epoch)) {
            p->cur = j;
        } else if (j >= 0 && p->job_st && asked(&p->s[j], idx, n, train, seed, epoch)) {
            st = an_error(p->job_st, "%s", p->job_msg); /* the right batch, and it failed */
        } else {
            p->cur = j >= 0 ? j : p->cur;
            s = &p->s[p->cur];
            memcpy(s->idx, idx, (size_t)n * sizeof(long));
            s->n = n, s->train = train, s->seed = seed, s->epoch = epoch;
            st = fill(p, s);
            s->valid = st == AN_OK;
        }
    } else {
        s = &p->s[0];
        memcpy(s->idx, idx, (size_t)n * sizeof(long));
        s->n = n, s->train = train, s->seed = seed, s->epoch = epoch;
        st = fill(p, s);
    }
    p->waited += an_now() - t0;
    if (st) return st;
    *x = p->s[p->cur].x;
    *labels = p->s[p->cur].labels;
    return AN_OK;
}

double an_prefetch_wait_seconds(const an_prefetch *p) { return p->waited; }

void an_prefetch_free(an_prefetch *p)
{
    if (!p) return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    for (int k = 0; k < 2; k++) {
        an_free(p->s[k].x);
        free(p->s[k].labels);
        free(p->s[k].idx);
    }
    free(p);
}
