/**
 * A listener that cannot bind because its address is taken, named: which listener, which
 * address and port, and the setting that moves it. Node's servers report `EADDRINUSE` and Deno's
 * `AddrInUse` ("Address already in use (os error 98)") without saying which port; with six
 * listeners that is no help to an operator.
 */

/** Thrown by a listener whose address is in use. */
export class AddressInUseError extends Error {
  override name = "AddressInUseError";
  constructor(
    readonly listener: string,
    readonly address: string,
    readonly setting: string,
    options?: ErrorOptions,
  ) {
    super(
      `${listener}: ${address} is already in use (another edgecloud or cloudcore running?); ` +
        `free it or change ${setting}`,
      options,
    );
  }
}

/** True for Node's `EADDRINUSE` and Deno's `AddrInUse`. */
function isAddressInUse(err: unknown): boolean {
  return err instanceof Deno.errors.AddrInUse ||
    (err as { code?: unknown } | null)?.code === "EADDRINUSE";
}

/**
 * `err` as an {@link AddressInUseError} naming the listener when the address was taken, else
 * `err` itself.
 */
export function listenError(
  err: unknown,
  listener: string,
  host: string,
  port: number | string,
  setting: string,
): unknown {
  if (!isAddressInUse(err)) return err;
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const address = port === "" ? host : `${h}:${port}`;
  return new AddressInUseError(listener, address, setting, { cause: err });
}
