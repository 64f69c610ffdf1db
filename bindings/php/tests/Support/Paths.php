<?php

declare(strict_types=1);

namespace Mailport\Tests\Support;

final class Paths
{
    public static function repo(): string
    {
        return dirname(__DIR__, 4);
    }

    public static function package(): string
    {
        return dirname(__DIR__, 2);
    }

    /** A new directory others can read (the preload tests run PHP as another user). */
    public static function tempDir(string $prefix): string
    {
        $path = tempnam(sys_get_temp_dir(), $prefix);
        if ($path === false) {
            throw new \RuntimeException('tempnam failed');
        }
        unlink($path);
        mkdir($path, 0755);
        chmod($path, 0755);
        return $path;
    }

    public static function remove(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (scandir($path) ?: [] as $entry) {
                if ($entry !== '.' && $entry !== '..') {
                    self::remove("$path/$entry");
                }
            }
            @rmdir($path);
        } elseif (file_exists($path) || is_link($path)) {
            @unlink($path);
        }
    }

    /** A loopback port nothing listens on (bound, then released). */
    public static function refusedPort(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($server === false) {
            throw new \RuntimeException("cannot bind: $errstr");
        }
        $name = (string) stream_socket_get_name($server, false);
        fclose($server);
        return (int) substr($name, strrpos($name, ':') + 1);
    }
}
