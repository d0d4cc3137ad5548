//! Links the addon the way Node expects (napi-build sets the platform's
//! linker arguments).

fn main() {
    napi_build::setup();
}
