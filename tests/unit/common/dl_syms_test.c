/* dl_syms_load: a library with every symbol fills every slot; one symbol missing fails with a
 * sentence naming it and leaves no slot pointing into the library; a missing library names
 * the package. libm.so.6 stands in: glibc always has it. */
#include <dlfcn.h>

#include "common/dl_syms.h"
#include "test.h"

int main(void)
{
	static const struct dl_lib libm = { "libm.so.6", "libm", "libc6", "glibc 2.0" };
	static const struct dl_lib none = { "libdaxvm-no-such.so.9", "no-such", "no-such-package", "1" };
	double (*cos_fn)(double) = NULL, (*sin_fn)(double) = NULL;
	void *bogus = (void *)1;
	const struct dl_sym good[] = { { "cos", (void **)&cos_fn }, { "sin", (void **)&sin_fn } };
	const struct dl_sym bad[] = { { "cos", (void **)&cos_fn }, { "daxvm_no_such_symbol", &bogus } };
	struct err e = { 0 };

	TEST_ASSERT(dl_syms_load(&libm, good, 2, &e) == 0, "libm: %s", e.msg);
	TEST_ASSERT(cos_fn && sin_fn && cos_fn(0.0) == 1.0, "slots not filled");

	err_reset(&e);
	TEST_ASSERT(dl_syms_load(&libm, bad, 2, &e) == -ENOENT, "a missing symbol was not refused");
	TEST_ASSERT(strstr(e.msg, "daxvm_no_such_symbol") && strstr(e.msg, "glibc 2.0"), "message: %s", e.msg);
	TEST_ASSERT(!cos_fn && !bogus, "a refused library left slots set");

	err_reset(&e);
	TEST_ASSERT(dl_syms_load(&none, good, 2, &e) == -ENOENT, "a missing library was not refused");
	TEST_ASSERT(strstr(e.msg, "install the no-such-package package"), "message: %s", e.msg);
	printf("dl_syms_test: loads, refuses a missing symbol and library with their names, leaves nothing set\n");
	return T_PASS;
}
