# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libcowdup: build/lib/libcowdup.so.0 (+ libcowdup.so), build/lib/libcowdup.a,
# build/lib/cowdup.pc.  Included by the top-level Makefile, which provides
# BUILD, SRCDIR, CC, USER_CFLAGS, DESTDIR, PREFIX, LIBDIR, INCLUDEDIR and V.
#
# Targets:
#   lib          the shared and static library and the pkg-config file
#   install      library, <cowdup.h>, <linux/cowdup.h>, cowdup.pc, man pages
#                (honours DESTDIR, PREFIX, LIBDIR, INCLUDEDIR, MANDIR)
#   uapi-check   compile uapi/linux/cowdup.h standalone (C99, pedantic,
#                -Werror) and run its layout test (also built by `tests`)
#   install-man  the man3 pages of Documentation/man (part of install)

LIB_VERSION  := 0.1.0
LIB_SONAME   := libcowdup.so.0
LIB_BUILD    := $(BUILD)/lib
MANDIR       ?= $(PREFIX)/share/man

LIB_Q        := $(if $(filter 1,$(V)),,@)
INSTALL      ?= install

LIB_SRCS     := $(SRCDIR)/lib/cowdup.c
LIB_HDRS     := $(SRCDIR)/lib/cowdup.h $(SRCDIR)/uapi/linux/cowdup.h
LIB_MAP      := $(SRCDIR)/lib/libcowdup.map
LIB_OBJS     := $(LIB_BUILD)/cowdup.o

LIB_SO       := $(LIB_BUILD)/$(LIB_SONAME)
LIB_SO_LINK  := $(LIB_BUILD)/libcowdup.so
LIB_A        := $(LIB_BUILD)/libcowdup.a
LIB_PC       := $(LIB_BUILD)/cowdup.pc

LIB_CFLAGS   := $(USER_CFLAGS) -fPIC -fvisibility=hidden
LIB_LDFLAGS  := -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script,$(LIB_MAP) -Wl,--no-undefined -Wl,-z,defs \
		-Wl,-z,relro -Wl,-z,now

LIB_MAN3     := $(wildcard $(SRCDIR)/Documentation/man/man3/*.3)

.PHONY: lib
lib: $(LIB_SO) $(LIB_SO_LINK) $(LIB_A) $(LIB_PC)

$(LIB_BUILD)/%.o: $(SRCDIR)/lib/%.c $(LIB_HDRS) $(SRCDIR)/lib/lib.mk
	@mkdir -p $(@D)
	$(if $(LIB_Q),@echo "  CC      $@")
	$(LIB_Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(LIB_SO): $(LIB_OBJS) $(LIB_MAP)
	$(if $(LIB_Q),@echo "  LD      $@")
	$(LIB_Q)$(CC) $(LIB_CFLAGS) $(LIB_LDFLAGS) -o $@ $(LIB_OBJS)

$(LIB_SO_LINK): $(LIB_SO)
	$(LIB_Q)ln -sf $(LIB_SONAME) $@

$(LIB_A): $(LIB_OBJS)
	$(if $(LIB_Q),@echo "  AR      $@")
	$(LIB_Q)rm -f $@
	$(LIB_Q)$(AR) rcs $@ $(LIB_OBJS)

# Paths under PREFIX are written relative to ${prefix} (relocatable .pc).
LIB_PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
LIB_PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

# Rebuilt whenever the paths may have changed (they come from the command line).
$(LIB_PC): $(SRCDIR)/lib/cowdup.pc.in lib-force
	@mkdir -p $(@D)
	$(LIB_Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIB_PC_LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(LIB_PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(LIB_VERSION)|g' \
		$< > $@.tmp
	$(LIB_Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

.PHONY: lib-force
lib-force:

.PHONY: install install-lib install-man
install: install-lib install-man

install-lib: lib
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(INCLUDEDIR)/linux
	$(INSTALL) -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libcowdup.so
	$(INSTALL) -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libcowdup.a
	$(INSTALL) -m 0644 $(SRCDIR)/lib/cowdup.h $(DESTDIR)$(INCLUDEDIR)/cowdup.h
	$(INSTALL) -m 0644 $(SRCDIR)/uapi/linux/cowdup.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/cowdup.h
	$(INSTALL) -m 0644 $(LIB_PC) $(DESTDIR)$(LIBDIR)/pkgconfig/cowdup.pc

install-man:
	$(if $(LIB_MAN3),$(INSTALL) -d $(DESTDIR)$(MANDIR)/man3)
	$(if $(LIB_MAN3),$(INSTALL) -m 0644 $(LIB_MAN3) $(DESTDIR)$(MANDIR)/man3/)
