#!/bin/busybox sh
# PID 1 of the drydock lab guest (a busybox initramfs on the Debian kernel).
#
# It exists to prove that a guest moved *alive*: it fills RAM with random
# data (so migration has real pages to copy, not zero pages QEMU skips),
# keeps dirtying it (so pre-copy has to iterate), and prints a counter on the
# serial console every second. After a live migration the counter continues
# on the target; after a cold move it restarts with a new boot id.
#
# Serial lines (one per event, parsed by scripts/lab/serial.ts):
#   BOOT <boot> fill=<MiB> disk=<dev|none>
#   HB <n> <boot>          every second
#   W <n> <boot>           every second when a virtio disk is attached; the same
#                          counter is written to the disk's first sector and
#                          resumed from it at boot, so disk contents survive moves
#   POWEROFF <boot>        ACPI power button pressed (virsh shutdown)
#
# Kernel command line: drydock.fill=<MiB> (default 32).

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin /tmp /fill
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Console output goes to the first serial port whatever console= says.
exec </dev/null >/dev/ttyS0 2>&1

BOOT=$(cut -c1-8 /proc/sys/kernel/random/boot_id)

FILL=32
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    drydock.fill=*) FILL=${arg#drydock.fill=} ;;
  esac
done
case "$FILL" in ''|*[!0-9]*) FILL=32 ;; esac

# Drivers the Debian kernel builds as modules: virtio disk, ACPI power button
# and evdev (to see the button). The build wrote them in dependency order.
if [ -f /lib/drydock/modules.order ]; then
  for m in $(cat /lib/drydock/modules.order); do
    insmod "/lib/drydock/$m.ko" 2>/dev/null
  done
fi

# Graceful shutdown (virsh shutdown = ACPI power button): any event on a
# "Power Button" input device powers off, so cold migration need not wait
# for its shutdown deadline.
for ev in /sys/class/input/event*; do
  [ -r "$ev/device/name" ] || continue
  if [ "$(cat "$ev/device/name")" = "Power Button" ]; then
    (
      dd if="/dev/input/${ev##*/}" of=/dev/null bs=64 count=1 2>/dev/null
      echo "POWEROFF $BOOT"
      sync
      poweroff -f
    ) &
  fi
done

DISK=
[ -b /dev/vda ] && DISK=/dev/vda
W=0
if [ -n "$DISK" ]; then
  prev=$(dd if="$DISK" bs=512 count=1 2>/dev/null | tr -d '\000' | head -n 1)
  case "$prev" in
    "W "*)
      n=${prev#W }
      n=${n%% *}
      case "$n" in ''|*[!0-9]*) ;; *) W=$n ;; esac
      ;;
  esac
fi

echo "BOOT $BOOT fill=$FILL disk=${DISK:-none}"

# Random data, not zeros: QEMU sends zero pages almost for free. One random
# MiB copied N times is as costly to migrate and much faster to write under
# TCG than N MiB from /dev/urandom.
if [ "$FILL" -gt 0 ]; then
  # The initramfs root is capped at half the RAM; the fill may be more.
  mount -t tmpfs -o size=100% tmpfs /fill
  dd if=/dev/urandom of=/fill/chunk bs=1M count=1 2>/dev/null
  # One cat with N arguments: a process per MiB is slow under TCG.
  set --
  i=0
  while [ "$i" -lt "$FILL" ]; do
    set -- "$@" /fill/chunk
    i=$((i + 1))
  done
  cat "$@" >/fill/data
  rm -f /fill/chunk
  set --
fi

N=0
while :; do
  N=$((N + 1))
  if [ "$FILL" -gt 0 ]; then
    dd if=/dev/urandom of=/fill/data bs=1M count=1 seek=$((N % FILL)) conv=notrunc 2>/dev/null
  fi
  if [ -n "$DISK" ]; then
    W=$((W + 1))
    printf 'W %d %s\n' "$W" "$BOOT" | dd of="$DISK" bs=512 count=1 conv=sync,notrunc 2>/dev/null
    sync
    echo "W $W $BOOT"
  fi
  echo "HB $N $BOOT"
  sleep 1
done
