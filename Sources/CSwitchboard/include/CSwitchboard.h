#ifndef CSWITCHBOARD_H
#define CSWITCHBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// One resource limit applied in the child before exec (RLIMIT_* resource, soft = hard = value).
typedef struct {
    int resource;
    uint64_t value;
} sb_rlimit;

/// What the child does between fork and exec. Everything here is async-signal-safe.
typedef struct {
    const char *path;            // executable path (execve, no PATH search)
    char *const *argv;           // NULL-terminated
    char *const *envp;           // NULL-terminated
    const char *cwd;             // NULL: inherit
    int stdin_fd;                // -1: /dev/null
    int stdout_fd;               // -1: /dev/null
    int stderr_fd;               // -1: /dev/null; -2: same as stdout
    int new_process_group;       // setpgid(0, 0)
    int new_session;             // setsid()
    int parent_death_signal;     // 0: none; else prctl(PR_SET_PDEATHSIG)
    const sb_rlimit *rlimits;
    size_t rlimit_count;
    const char *cgroup_procs;    // NULL or a cgroup.procs / tasks path the child writes itself into
    const char *cgroup_procs2;   // second controller (cgroup v1 keeps one hierarchy per controller)
    const char *const *cgroup_extra; // more cgroup.procs paths, NULL-terminated (may be NULL)
    int landlock_ruleset_fd;     // -1: none; else no_new_privs + landlock_restrict_self
    int drop_capabilities;       // clear the bounding, ambient, effective, permitted and inheritable sets
                                 // and lock SECBIT_NOROOT, so that even uid 0 execs without privileges
} sb_spawn_options;

/// Forks and execs. Returns 0 and sets *pid, or returns an errno value describing why the child
/// could not start (the failing step is reported in *failed_step: 1 chdir, 2 dup, 3 setpgid/setsid,
/// 4 rlimit, 5 cgroup, 6 landlock, 7 exec, 8 fork, 9 dropping capabilities).
int sb_spawn(const sb_spawn_options *options, pid_t *pid, int *failed_step);

/// SHA-256 of `length` bytes into `out` (32 bytes).
void sb_sha256(const void *data, size_t length, uint8_t *out);

/// HMAC-SHA-256 into `out` (32 bytes).
void sb_hmac_sha256(const void *key, size_t key_length, const void *data, size_t length, uint8_t *out);

/// Landlock ABI version offered by the kernel, or -1 (errno) when unavailable.
int sb_landlock_abi(void);
/// Creates a Landlock ruleset handling the given filesystem access rights; returns an fd or -1.
int sb_landlock_create(uint64_t handled_access_fs);
/// Adds a path-beneath rule; returns 0 or an errno value.
int sb_landlock_allow(int ruleset_fd, const char *path, uint64_t allowed_access);
/// Creates a ruleset handling filesystem (ABI 1+), TCP (ABI 4+) and scope (ABI 6+) rights; zero
/// masks are left out so older kernels accept the call. Returns an fd or -errno.
int sb_landlock_create_ruleset(uint64_t handled_access_fs, uint64_t handled_access_net, uint64_t scoped);

/// openat2(2) with an `open_how`; returns an fd or -errno (RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, …).
int sb_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
/// memmem(3) and memrchr(3) (GNU extensions the Swift Glibc module does not export).
void *sb_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);
void *sb_memrchr(const void *buffer, int byte, size_t length);
/// renameat2(2) (RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2); returns 0 or errno.
int sb_renameat2(int old_dirfd, const char *old_path, int new_dirfd, const char *new_path, unsigned int flags);

/// pipe2(O_CLOEXEC); returns 0 or errno.
int sb_pipe(int fds[2]);

/// A pidfd for `pid` (readable once the process exits), or -1.
int sb_pidfd_open(pid_t pid);

#endif
