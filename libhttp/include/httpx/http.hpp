/// The umbrella header of libhttp: everything a user of the library needs.
#pragma once

#include "httpx/core/error.hpp"
#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/constants.hpp"
#include "httpx/http/options.hpp"
