#define _GNU_SOURCE
#include "CSwitchboard.h"

#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <linux/capability.h>
#include <linux/securebits.h>

// Leaves the process without any capability, now and after exec, even as uid 0: the bounding and
// ambient sets are emptied, SECBIT_NOROOT stops exec from granting root its full set, and the
// current sets are cleared. Steps that need CAP_SETPCAP fail harmlessly for a process without it.
static int drop_capabilities(void) {
    prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0);
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) return errno;
    return 0;
}

static int join_cgroup(const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    char buffer[24];
    pid_t pid = getpid();
    int length = 0;
    char digits[24];
    do { digits[length++] = (char)('0' + pid % 10); pid /= 10; } while (pid > 0);
    for (int i = 0; i < length; i++) buffer[i] = digits[length - 1 - i];
    ssize_t written = write(fd, buffer, (size_t)length);
    int error = written < 0 ? errno : 0;
    close(fd);
    return error;
}

static void child_fail(int pipe_fd, int step, int error) {
    int report[2] = {step, error};
    ssize_t ignored = write(pipe_fd, report, sizeof report);
    (void)ignored;
    _exit(127);
}

static int redirect(int fd, int target, int flags) {
    if (fd == -1) {
        fd = open("/dev/null", flags | O_CLOEXEC);
        if (fd < 0) return errno;
    }
    if (fd == target) {
        int current = fcntl(fd, F_GETFD);
        if (current >= 0) fcntl(fd, F_SETFD, current & ~FD_CLOEXEC);
        return 0;
    }
    if (dup2(fd, target) < 0) return errno;
    return 0;
}

int sb_spawn(const sb_spawn_options *o, pid_t *pid_out, int *failed_step) {
    int report_pipe[2];
    if (pipe2(report_pipe, O_CLOEXEC) != 0) { *failed_step = 8; return errno; }

    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        close(report_pipe[0]); close(report_pipe[1]);
        *failed_step = 8;
        return error;
    }
    if (pid == 0) {
        int w = report_pipe[1];
        // Default dispositions and an empty mask for the new program.
        for (int s = 1; s < NSIG; s++) {
            if (s == SIGKILL || s == SIGSTOP) continue;
            signal(s, SIG_DFL);
        }
        sigset_t empty;
        sigemptyset(&empty);
        if (o->new_session) {
            if (setsid() < 0) child_fail(w, 3, errno);
        } else if (o->new_process_group) {
            if (setpgid(0, 0) < 0) child_fail(w, 3, errno);
        }
        if (o->parent_death_signal > 0) {
            prctl(PR_SET_PDEATHSIG, o->parent_death_signal);
            if (getppid() == 1) _exit(127);
        }
        if (o->cgroup_procs) { int e = join_cgroup(o->cgroup_procs); if (e) child_fail(w, 5, e); }
        if (o->cgroup_procs2) { int e = join_cgroup(o->cgroup_procs2); if (e) child_fail(w, 5, e); }
        if (o->cgroup_extra) {
            for (const char *const *p = o->cgroup_extra; *p; p++) { int e = join_cgroup(*p); if (e) child_fail(w, 5, e); }
        }
        int e;
        int out_fd = o->stdout_fd;
        int err_fd = o->stderr_fd == -2 ? out_fd : o->stderr_fd;
        // Move the caller's fds above 2 first so that dup2 order cannot clobber them.
        int in_fd = o->stdin_fd;
        if (in_fd >= 0 && in_fd <= 2) in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (out_fd >= 0 && out_fd <= 2) out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
        if (err_fd >= 0 && err_fd <= 2) err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
        if ((e = redirect(in_fd, 0, O_RDONLY))) child_fail(w, 2, e);
        if ((e = redirect(out_fd, 1, O_WRONLY))) child_fail(w, 2, e);
        if ((e = redirect(err_fd, 2, O_WRONLY))) child_fail(w, 2, e);
        // Nothing else of the parent's leaks into the program.
        syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (o->cwd && chdir(o->cwd) != 0) child_fail(w, 1, errno);
        for (size_t i = 0; i < o->rlimit_count; i++) {
            struct rlimit limit = { o->rlimits[i].value, o->rlimits[i].value };
            if (setrlimit(o->rlimits[i].resource, &limit) != 0) child_fail(w, 4, errno);
        }
        if (o->landlock_ruleset_fd >= 0) {
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(w, 6, errno);
            if (syscall(SYS_landlock_restrict_self, o->landlock_ruleset_fd, 0) != 0) child_fail(w, 6, errno);
        }
        if (o->drop_capabilities) {
            if ((e = drop_capabilities())) child_fail(w, 9, e);
        }
        sigprocmask(SIG_SETMASK, &empty, NULL);
        execve(o->path, o->argv, o->envp);
        child_fail(w, 7, errno);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report_pipe[1]);
    int report[2] = {0, 0};
    ssize_t got;
    do { got = read(report_pipe[0], report, sizeof report); } while (got < 0 && errno == EINTR);
    close(report_pipe[0]);
    if (got == (ssize_t)sizeof report) {
        // The child failed before exec and has exited; reap it so nothing is left behind.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *failed_step = report[0];
        return report[1];
    }
    *pid_out = pid;
    *failed_step = 0;
    return 0;
}

int sb_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int sb_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
