#include <httpx/http.hpp>
#include <iostream>

int main() {
  httpx::core::Loop loop;
  loop.post([] {
    std::cout << httpx::http::METHODS.at(6) << ' ' << 404 << ' ' << httpx::http::STATUS_CODES.at(404) << '\n';
  });
  loop.run();
}
