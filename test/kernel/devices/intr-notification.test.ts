// The device_intr_notify message the kernel builds: gnumach's layout for any id, and a fresh
// copy each time (delivery writes the ports into it; the kept template must not change).
import { describe, expect, it } from "vitest";
import {
  DEVICE_INTR_NOTIFICATION_SIZE,
  intrNotificationBytes,
  intrNotificationId,
} from "../../../src/kernel/devices/intr-notification.js";
import { readHeader } from "../../../src/kernel/message.js";

describe("device_intr_notify bytes", () => {
  it("carry the id in gnumach's layout, for lines and for any other id", () => {
    for (const id of [0, 1, 16, 23, 255, 256, 4096, -1, 0x7fffffff]) {
      const b = intrNotificationBytes(id);
      expect(b.length).toBe(DEVICE_INTR_NOTIFICATION_SIZE);
      expect(readHeader(b).size).toBe(DEVICE_INTR_NOTIFICATION_SIZE);
      expect(intrNotificationId(b)).toBe(id);
    }
  });

  it("are a fresh copy each time: changing one changes no later one", () => {
    const first = intrNotificationBytes(16);
    const pristine = Uint8Array.from(first);
    first.fill(0xaa);
    const second = intrNotificationBytes(16);
    expect(second).not.toBe(first);
    expect(second).toEqual(pristine);
    expect(intrNotificationId(second)).toBe(16);
  });
});
