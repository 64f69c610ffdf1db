<?php

declare(strict_types=1);

namespace Mailport;

use FFI\CData;
use Mailport\Exception\HandleException;

/**
 * An object that owns one C object: freed by close() (idempotent) or, at the latest, by the
 * destructor. Using it after close() throws HandleException; so do clone and serialize, since the
 * C object is not reference-counted.
 */
abstract class Handle
{
    private ?CData $pointer = null;

    /** The C function that frees this kind of object, e.g. "mailport_config_free". */
    abstract protected static function freeFunction(): string;

    /** Take ownership of a C object. */
    protected function adopt(CData $pointer): void
    {
        if ($this->pointer !== null) {
            Native::invoke(static::freeFunction(), $this->pointer);
        }
        $this->pointer = $pointer;
    }

    /**
     * The C pointer, for passing to Native.
     *
     * @internal
     */
    public function handle(): CData
    {
        return $this->pointer ?? throw HandleException::closed(static::class);
    }

    /** Free the C object now. Calling it again does nothing. */
    public function close(): void
    {
        $pointer = $this->pointer;
        $this->pointer = null;
        if ($pointer !== null) {
            // Straight to FFI: every message is freed here, and Native::invoke's variadic
            // wrapper would cost as much as the free itself.
            Native::ffi()->{static::freeFunction()}($pointer);
        }
    }

    public function isClosed(): bool
    {
        return $this->pointer === null;
    }

    public function __destruct()
    {
        try {
            $this->close();
        } catch (\Throwable) {
            // A destructor must not throw; at worst the C object is left to the process's end.
        }
    }

    public function __clone()
    {
        $this->pointer = null;
        throw HandleException::cloned(static::class);
    }

    /** @return array<never> */
    public function __serialize(): array
    {
        throw HandleException::serialized(static::class);
    }

    /** @param array<mixed> $data */
    public function __unserialize(array $data): void
    {
        throw HandleException::serialized(static::class);
    }
}
