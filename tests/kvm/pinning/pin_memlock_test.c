/* The memlock limit: in a child without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK, an
 * io_uring pin beyond the limit fails with -ENOMEM and a sentence naming the limit and the
 * amount; one within the limit succeeds. The child also runs as uid nobody because io_uring
 * charges pins to the user (root's other processes would share the budget). */
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

#define LIMIT (1ull << 20)

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	d[CAP_IPC_LOCK / 32].permitted &= ~(1u << (CAP_IPC_LOCK % 32));
	d[CAP_IPC_LOCK / 32].inheritable &= ~(1u << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &h, d))
		return -errno;
	if (syscall(SYS_capget, &h, d))
		return -errno;
	return (d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32))) ? -EPERM : 0;
}

static int child(void)
{
	struct rlimit rl = { LIMIT, LIMIT };
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_container *c;
	struct err e = { 0 };
	struct pin_dma_map m = { .iova = 0, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	char *mem;
	int ret;

	TEST_ASSERT(drop_ipc_lock() == 0, "drop CAP_IPC_LOCK");
	TEST_ASSERT(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit");
	TEST_ASSERT(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0, "become nobody");
	mem = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	memset(mem, 7, 16 << 20);
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "io_uring as nobody: %s", e.msg);

	m.vaddr = (uintptr_t)mem;
	m.size = 16 << 20;
	ret = pin_map_dma(c, &m, &e);
	TEST_ASSERT(ret == -ENOMEM, "16 MiB over a 1 MiB limit: got %d (%s)", ret, e.msg);
	TEST_ASSERT(strstr(e.msg, "memlock limit 1 MiB") && strstr(e.msg, "16 MiB") && strstr(e.msg, "ulimit -l"),
		    "message names the limit, the amount and the fix: %s", e.msg);
	printf("  over the limit: %s\n", e.msg);
	TEST_ASSERT(pin_container_pinned_pages(c) == 0, "nothing recorded");

	err_reset(&e);
	m.size = 512 << 10;
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "512 KiB within the limit: %s", e.msg);
	TEST_ASSERT(t_vmpin_kib() == 512, "VmPin %" PRIu64 " KiB", t_vmpin_kib());
	m.iova = 1 << 20;
	m.vaddr += 1 << 20;
	m.size = 1 << 20;
	TEST_ASSERT(pin_map_dma(c, &m, &e) == -ENOMEM, "the limit counts what is already pinned");
	pin_container_close(c);
	TEST_ASSERT(t_vmpin_kib() == 0, "released at close");
	fflush(stdout);
	return T_PASS;
}

int main(void)
{
	int status;
	pid_t pid;

	t_require_root("to drop CAP_IPC_LOCK and change user in a child");
	t_require_io_uring();
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0)
		_exit(child());
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == T_PASS, "child status 0x%x", status);
	printf("PASS: memlock limit enforced with a clear message when CAP_IPC_LOCK is dropped\n");
	return T_PASS;
}
