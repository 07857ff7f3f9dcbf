/* libvirt's own test driver through the real C API (no daemon): test:///default and a node
 * file written here with an nvdimm and a VFIO hostdev; a domain that is not there; a URI
 * nothing answers. The domain's QEMU is then looked up by UUID: the test driver runs none. */
#include <string.h>

#include "test.h"
#include "inspect/domain.h"
#include "inspect/process.h"

static const char node[] =
	"<node>\n"
	"<domain type='test'>\n"
	"  <name>dax-guest</name>\n"
	"  <uuid>1d6a2f8e-0c3b-4b6e-8f2a-9e1d7c5b3a40</uuid>\n"
	"  <memory unit='MiB'>512</memory>\n"
	"  <currentMemory unit='MiB'>512</currentMemory>\n"
	"  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\n"
	"  <os><type>hvm</type></os>\n"
	"  <devices>\n"
	"    <hostdev mode='subsystem' type='pci' managed='no'>\n"
	"      <source><address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source>\n"
	"    </hostdev>\n"
	"  </devices>\n"
	"</domain>\n"
	"</node>\n";

int main(int argc, char **argv)
{
	struct inspect_domain d;
	struct err e = { 0 };
	char *xml = NULL, uuid[40], uri[4200], path[4096];
	pid_t pid;
	FILE *f;

	TEST_ASSERT(argc > 1, "usage: %s TMPDIR", argv[0]);
	TEST_ASSERT(inspect_libvirt_domain_xml("test:///default", "test", &xml, uuid, &e) == 0, "default: %s", e.msg);
	TEST_ASSERT(inspect_domain_xml_parse(xml, strlen(xml), &d, &e) == 0, "parse: %s", e.msg);
	TEST_ASSERT(!strcmp(d.name, "test") && !strcmp(d.uuid, uuid) && d.memory > 0, "test domain: %s %s %llu", d.name,
		    uuid, (unsigned long long)d.memory);
	free(xml);

	snprintf(path, sizeof(path), "%s/libvirt-test-node.xml", argv[1]);
	f = fopen(path, "w");
	TEST_ASSERT(f && fputs(node, f) >= 0 && fclose(f) == 0, "write %s", path);
	snprintf(uri, sizeof(uri), "test://%s", path);
	TEST_ASSERT(inspect_libvirt_domain_xml(uri, "dax-guest", &xml, uuid, &e) == 0, "node file: %s", e.msg);
	TEST_ASSERT(inspect_domain_xml_parse(xml, strlen(xml), &d, &e) == 0, "parse: %s", e.msg);
	TEST_ASSERT(!strcmp(uuid, "1d6a2f8e-0c3b-4b6e-8f2a-9e1d7c5b3a40"), "uuid %s", uuid);
	TEST_ASSERT(d.memory == 512ull << 20 && d.ram_source == INSPECT_SRC_MEMFD && d.ram_share == 1, "backing");
	TEST_ASSERT(d.nr_hostdev == 1 && !strcmp(d.hostdev[0].address, "0000:00:03.0"), "hostdev %u", d.nr_hostdev);
	free(xml);
	/* The test driver starts no QEMU: the UUID lookup must say none runs here. */
	err_reset(&e);
	TEST_ASSERT(inspect_find_qemu_by_uuid(uuid, &pid, &e) == -ESRCH && strstr(e.msg, uuid), "uuid: %s", e.msg);

	err_reset(&e);
	TEST_ASSERT(inspect_libvirt_domain_xml("test:///default", "no-such-domain", &xml, uuid, &e) == -ENOENT &&
		    strstr(e.msg, "no-such-domain") && !strchr(e.msg, '\n') && !xml, "missing domain: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(inspect_libvirt_domain_xml("qemu+unix:///system?socket=/nonexistent/libvirt-sock", "x", &xml, uuid,
					       &e) == -ECONNREFUSED && strstr(e.msg, "cannot connect"),
		    "no daemon: %s", e.msg);
	remove(path);
	printf("PASS: libvirt test driver: default domain, a node file with memoryBacking and a hostdev, "
	       "no such domain, no daemon, no QEMU for the UUID\n");
	return T_PASS;
}
