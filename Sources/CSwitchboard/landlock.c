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

int sb_landlock_allow(int ruleset_fd, const char *path, uint64_t allowed_access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno;
    struct landlock_path_beneath_attr rule = { .allowed_access = allowed_access, .parent_fd = fd };
    long result = syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int error = result < 0 ? errno : 0;
    close(fd);
    return error;
}
