# ipcring_warnings(target): our warning set, PRIVATE to our own targets (never to consumers).
function(ipcring_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${IPCRING_WARNINGS_AS_ERRORS}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
      -Wold-style-cast -Wcast-align -Woverloaded-virtual
      $<$<BOOL:${IPCRING_WARNINGS_AS_ERRORS}>:-Werror>)
  endif()
endfunction()
