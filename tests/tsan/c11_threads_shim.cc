// Preloaded into the ThreadSanitizer test runs (scripts/dev.sh tsan).
// librdkafka starts its threads and takes its locks through glibc's C11
// <threads.h>, which GCC 12's TSan runtime does not intercept: it would not
// see those threads start (the first report crashes) nor their locks. Each
// function here forwards to the pthread call TSan does intercept; glibc
// implements C11 threads on the same pthread types, so the casts hold.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace {

struct start {
    thrd_start_t run;
    void* arg;
};

void* trampoline(void* p) {
    const start s = *static_cast<start*>(p);
    std::free(p);
    return reinterpret_cast<void*>(std::intptr_t(s.run(s.arg)));
}

int c11(int pthread_error) {
    switch (pthread_error) {
        case 0: return thrd_success;
        case EBUSY: return thrd_busy;
        case ETIMEDOUT: return thrd_timedout;
        case ENOMEM: return thrd_nomem;
        default: return thrd_error;
    }
}

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thread, thrd_start_t run, void* arg) {
    auto* s = static_cast<start*>(std::malloc(sizeof(start)));
    if (!s) return thrd_nomem;
    *s = {run, arg};
    const int e = pthread_create(reinterpret_cast<pthread_t*>(thread), nullptr, trampoline, s);
    if (e) std::free(s);
    return c11(e);
}

int thrd_join(thrd_t thread, int* result) {
    void* r = nullptr;
    const int e = pthread_join(pthread_t(thread), &r);
    if (!e && result) *result = int(reinterpret_cast<std::intptr_t>(r));
    return c11(e);
}

int thrd_detach(thrd_t thread) { return c11(pthread_detach(pthread_t(thread))); }

int mtx_init(mtx_t* m, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    const int e = pthread_mutex_init(native(m), &attr);
    pthread_mutexattr_destroy(&attr);
    return c11(e);
}
int mtx_lock(mtx_t* m) { return c11(pthread_mutex_lock(native(m))); }
int mtx_trylock(mtx_t* m) { return c11(pthread_mutex_trylock(native(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict at) {
    return c11(pthread_mutex_timedlock(native(m), at));
}
int mtx_unlock(mtx_t* m) { return c11(pthread_mutex_unlock(native(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

int cnd_init(cnd_t* c) { return c11(pthread_cond_init(native(c), nullptr)); }
int cnd_signal(cnd_t* c) { return c11(pthread_cond_signal(native(c))); }
int cnd_broadcast(cnd_t* c) { return c11(pthread_cond_broadcast(native(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return c11(pthread_cond_wait(native(c), native(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict at) {
    return c11(pthread_cond_timedwait(native(c), native(m), at));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

void call_once(once_flag* flag, void (*run)()) { pthread_once(reinterpret_cast<pthread_once_t*>(flag), run); }

}  // extern "C"
