/* srv_signals.c - see srv_signals.h. */
#include "srv_signals.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int wake_fd[2] = {-1, -1};
static atomic_int reload_requested, stop_requested; /* lock-free: safe in a handler */

static void on_signal(int sig) {
    int saved = errno;
    if (sig == SIGHUP)
        atomic_store(&reload_requested, 1);
    else
        atomic_store(&stop_requested, 1);
    char b = 1;
    ssize_t n = write(wake_fd[1], &b, 1); /* full pipe: the main thread is awake anyway */
    (void)n;
    errno = saved;
}

/* A crash says where it happened on stderr (the service's log), then ends
 * the process as the signal would have (exit status, core dump). Only
 * async-signal-safe calls: write and backtrace_symbols_fd (backtrace is
 * primed at install so it does not load libgcc here). */
static void on_fatal(int sig) {
    static const char head[] = "mixrec: fatal signal ";
    char num[4] = {(char)('0' + sig / 10 % 10), (char)('0' + sig % 10), '\n', 0};
    ssize_t n = write(STDERR_FILENO, head, sizeof(head) - 1);
    n = write(STDERR_FILENO, num, 3);
    (void)n;
    void *frames[64];
    backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SRV_SANITIZED 1 /* the sanitizer's own report is better */
#else
#define SRV_SANITIZED 0
#endif

static void install_fatal(void) {
    if (SRV_SANITIZED) return;
    void *prime[1];
    backtrace(prime, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

int srv_signals_install(mx_err *err) {
    if (wake_fd[0] < 0) {
        if (pipe(wake_fd) != 0)
            return mx_err_set(err, MX_EIO, "cannot create the signal pipe: %s", strerror(errno));
        fcntl(wake_fd[0], F_SETFD, FD_CLOEXEC);
        fcntl(wake_fd[1], F_SETFD, FD_CLOEXEC);
        fcntl(wake_fd[0], F_SETFL, fcntl(wake_fd[0], F_GETFL) | O_NONBLOCK);
        fcntl(wake_fd[1], F_SETFL, fcntl(wake_fd[1], F_GETFL) | O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* the main thread's file reads during a reload go on */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return mx_err_set(err, MX_EIO, "cannot install the handler of signal %d: %s", sigs[i],
                              strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    install_fatal();
    return 0;
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

srv_signals_event srv_signals_wait(int timeout_ms) {
    int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
    for (;;) {
        if (atomic_load(&stop_requested)) return SRV_SIGNALS_STOP;
        /* Consumed before the reload starts: a SIGHUP from now on asks
         * for one more reload, which will read CURRENT after it. */
        if (atomic_exchange(&reload_requested, 0)) return SRV_SIGNALS_RELOAD;
        /* poll, not a blocking read: poll returns EINTR after a handler
         * even with SA_RESTART (and ThreadSanitizer, which runs handlers
         * late, runs them then). The timeout re-checks the flags anyway. */
        int wait_ms = 1000;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) return SRV_SIGNALS_TIMEOUT;
            if (left < wait_ms) wait_ms = (int)left;
        }
        struct pollfd p = {.fd = wake_fd[0], .events = POLLIN};
        if (poll(&p, 1, wait_ms) > 0) {
            char buf[64];
            while (read(wake_fd[0], buf, sizeof(buf)) > 0) {
            }
        }
    }
}

void srv_signals_block(int block) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}
