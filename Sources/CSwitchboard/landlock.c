#define _GNU_SOURCE
#include "CSwitchboard.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

int sb_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? -1 : (int)abi;
}

int sb_landlock_create(uint64_t handled_access_fs) {
    struct landlock_ruleset_attr attr = { .handled_access_fs = handled_access_fs };
    return (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
}

// The attribute as of ABI 6; older kernels accept the shorter prefix (fs: ABI 1, net: ABI 4, scoped: ABI 6).
struct sb_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

int sb_landlock_create_ruleset(uint64_t handled_access_fs, uint64_t handled_access_net, uint64_t scoped) {
    struct sb_landlock_ruleset_attr attr = { handled_access_fs, handled_access_net, scoped };
    size_t size = scoped ? 24 : handled_access_net ? 16 : 8;
    long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    return fd < 0 ? -errno : (int)fd;
}

int sb_landlock_allow(int ruleset_fd, const char *path, uint64_t allowed_access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno;
    struct landlock_path_beneath_attr rule = { .allowed_access = allowed_access, .parent_fd = fd };
    long result = syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int error = result < 0 ? errno : 0;
    close(fd);
    return error;
}
